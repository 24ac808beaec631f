import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl hold`: park queued jobs where the daemon does not start them.
    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hold",
            abstract: "Park queued jobs: the daemon does not start them until they are released.",
            discussion: "A held job keeps its id and priority. Exit 0 when every job is held (or already was), 1 when one was not queued, 66 for an unknown id, 74, 75 if a job kept changing state.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job ids.", valueName: "id")) var ids: [String]

        func validate() throws { if ids.isEmpty { throw ValidationError("give at least one job id") } }

        func run() throws {
            let spool = spoolOption.resolved
            try changeJobs(ids, spool, done: "held", unchanged: "held (already)",
                           refused: { _ in "only queued or deferred jobs can be held" }) { id throws(SpoolError) in try spool.hold(id) }
        }
    }
}
