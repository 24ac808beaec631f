import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl retry`: put failed or cancelled jobs back in the queue.
    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Put failed or cancelled jobs back in the queue with a fresh count of attempts (their history is kept).",
            discussion: "Exit 0 when every job was requeued, 1 when one was not failed or cancelled, 66 for an unknown id, 74.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job ids.", valueName: "id")) var ids: [String]

        func validate() throws { if ids.isEmpty { throw ValidationError("give at least one job id") } }

        func run() throws {
            let spool = spoolOption.resolved
            try changeJobs(ids, spool, done: "queued", unchanged: "queued",
                           refused: { _ in "only failed or cancelled jobs can be retried" }) { id throws(SpoolError) in try spool.retry(id) }
        }
    }
}
