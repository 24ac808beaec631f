import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl priority ID N`: change a waiting job's priority.
    struct Priority: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "priority",
            abstract: "Change the priority of a queued, deferred or held job (higher starts first).",
            discussion: "N is a whole number -1000…1000. Exit 0 when changed, 1 when the job has already started or finished, 64 for a bad N, 66 for an unknown id, 74.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job id.", valueName: "id")) var id: String
        // Captures what the parser does not know, so a negative priority is not refused as an unknown option.
        @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The new priority, -1000…1000.", valueName: "n")) var value: [String] = []

        var priority: Int? {
        let v = value.filter { $0 != "--" }
        return v.count == 1 ? Int(v[0]) : nil
    }

        func validate() throws {
            guard let p = priority else { throw ValidationError("give the job id and one whole number, the new priority (-1000…1000)") }
            guard JobSchedule.priorityRange.contains(p) else { throw ValidationError("priority \(p) is out of range; give a whole number -1000…1000") }
        }

        func run() throws {
            let spool = spoolOption.resolved
            let p = priority!
            try changeJobs([id], spool, done: "priority \(p)", unchanged: "priority \(p)",
                           refused: { $0 == .processing ? "it started before its priority could change" : "only queued, deferred or held jobs have a priority to change" })
            { id throws(SpoolError) in try spool.setPriority(id, p) }
        }
    }
}
