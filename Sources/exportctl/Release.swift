import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl release`: put held jobs back in the queue.
    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Put held jobs back in the queue, at their place by priority and id.",
            discussion: "Exit 0 when every job is released, 1 when one was not held, 66 for an unknown id, 74, 75 if a job kept changing state.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job ids.", valueName: "id")) var ids: [String]

        func validate() throws { if ids.isEmpty { throw ValidationError("give at least one job id") } }

        func run() throws {
            let spool = spoolOption.resolved
            try changeJobs(ids, spool, done: "queued", unchanged: "queued",
                           refused: { _ in "only held jobs can be released" }) { id throws(SpoolError) in try spool.release(id) }
        }
    }
}
