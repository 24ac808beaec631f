import ArgumentParser
import ExportCore

extension JobState: ExpressibleByArgument {}

extension Exportctl {
    /// `exportctl list`: every job in the spool, oldest first.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, oldest first.")

        @OptionGroup var spoolOption: SpoolOption
        @Option(help: ArgumentHelp("Only jobs in this state: queued, deferred, held, processing, completed, failed, cancelled.", valueName: "state"))
        var state: JobState?
        @Flag(help: "Print a JSON array of status records.") var json = false

        func run() throws {
            let spool = spoolOption.resolved
            var records: [StatusSidecar] = []
            if spool.exists {
                do { records = try collect(spool) } catch { throw fail(error.description, ExitStatus.ioError) }
            }
            if json {
                Sys.print(JSONValue.array(records.map { $0.json() }).jsonText() + "\n")
            } else if !records.isEmpty {
                Sys.print(records.map(Format.line).joined(separator: "\n") + "\n")
            }
        }

        /// Records of every job in the chosen states, oldest first; queue
        /// positions come from one look at the queue.
        private func collect(_ spool: Spool) throws(SystemError) -> [StatusSidecar] {
            var records: [StatusSidecar] = []
            let directories = state.map { [$0 == .deferred ? .queued : $0] } ?? JobState.allCases
            for s in directories {
                let snapshot = s == .queued ? try QueueSnapshot(spool: spool) : nil
                for id in try spool.ids(in: s) where SharedSpool.refusal(for: id, in: spool) == nil {  // a shared spool: only your own jobs
                    guard let r = try? spool.status(of: id, snapshot: snapshot), r.state == s || (s == .queued && r.state == .deferred) else { continue }  // moved on meanwhile
                    if let want = state, r.state != want { continue }
                    records.append(r)
                }
            }
            return records.sorted { $0.id < $1.id }
        }
    }
}
