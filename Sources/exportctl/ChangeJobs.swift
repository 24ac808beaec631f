import ArgumentParser
import ExportCore

/// Runs one change (`retry`, `hold`, `release`, `priority`) on each id and
/// prints a line per job: the done message on standard output, or on
/// standard error why the job was left alone. Exit 0 when every job was
/// changed (or already was so), 1 when one was in a state the change does
/// not apply to; an unknown id stops with 66.
func changeJobs(_ ids: [String], _ spool: Spool, done: String, unchanged: String,
                refused: (JobState) -> String, _ change: (JobID) throws(SpoolError) -> JobChange) throws {
    var code = ExitStatus.ok
    for id in try parseIDs(ids) {
        let result: JobChange
        do { result = try change(id) } catch { throw fail(error.description, exitStatus(for: error)) }
        switch result {
        case .changed: Sys.print("\(id) \(done)\n")
        case .unchanged: Sys.print("\(id) \(unchanged)\n")
        case let .notApplicable(state):
            Sys.print("exportctl: \(id) is \(state.rawValue); \(refused(state))\n", fd: 2)
            code = ExitStatus.jobFailed
        }
    }
    if code != 0 { throw ExitCode(code) }
}
