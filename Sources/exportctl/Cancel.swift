import ArgumentParser
import ExportCore
import Glibc

extension Exportctl {
    /// `exportctl cancel`: cancel queued jobs at once, running ones within a second.
    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Cancel jobs: a queued job at once, a running one within a second (its partial output removed).",
            discussion: "Exit 0 when every job is cancelled (or already was), 1 when one had already completed or failed.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job ids.", valueName: "id")) var ids: [String]

        func validate() throws { if ids.isEmpty { throw ValidationError("give at least one job id") } }

        func run() throws {
            let spool = spoolOption.resolved
            var code = ExitStatus.ok
            for id in try parseIDs(ids) {
                do { code = max(code, try cancel(id, spool)) } catch let e as SystemError {
                    throw fail(e.description, ExitStatus.ioError)
                }
            }
            if code != 0 { throw ExitCode(code) }
        }

        private func cancel(_ id: JobID, _ spool: Spool) throws -> Int32 {
            if let refusal = SharedSpool.refusal(for: id, in: spool) { throw fail(refusal, ExitStatus.noPermission) }
            for _ in 0..<3 {
                guard let state = spool.state(of: id) else { throw fail("no job '\(id)' in this spool", ExitStatus.noInput) }
                if SharedSpool.mustDrop(spool) && [.queued, .deferred, .held].contains(state) { return try requestFromDaemon(id, spool, state) }
                switch state {
                case .cancelled:
                    Sys.print("\(id) cancelled\n")
                    return ExitStatus.ok
                case .completed, .failed:
                    Sys.print("exportctl: \(id) already \(state.rawValue); nothing to cancel\n", fd: 2)
                    return ExitStatus.jobFailed
                case .queued, .deferred, .held:
                    if try spool.cancelQueued(id, from: state == .held ? .held : .queued) { Sys.print("\(id) cancelled\n"); return ExitStatus.ok }
                    continue  // claimed, held or released meanwhile: look again
                case .processing:
                    try spool.requestCancel(id)
                    // The daemon acts on the request within milliseconds; wait up to 5 s to report it.
                    let deadline = Clock.monotonic() + 5
                    while Clock.monotonic() < deadline {
                        if let s = spool.state(of: id), s != .processing { break }
                        if !SpoolLock.isHeld(spool) { break }
                        usleep(20_000)
                    }
                    let now = spool.state(of: id)
                    if now == .cancelled { Sys.print("\(id) cancelled\n"); return ExitStatus.ok }
                    if now == .processing {
                        Sys.print("\(id) cancel requested; no daemon has acted on it yet (it will when one runs)\n")
                        return ExitStatus.ok
                    }
                    continue
                }
            }
            throw fail("\(id) kept changing state; try again", ExitStatus.tryLater)
        }

        /// A member of a shared spool's group cannot move jobs: the daemon cancels on their request
        /// (`cancel/ID`, checked to be theirs); waits up to 5 s for it.
        private func requestFromDaemon(_ id: JobID, _ spool: Spool, _ state: JobState) throws -> Int32 {
            try spool.requestCancel(id)
            let deadline = Clock.monotonic() + 5
            while Clock.monotonic() < deadline, spool.state(of: id) == state { usleep(20_000) }
            if spool.state(of: id) == .cancelled { Sys.print("\(id) cancelled\n"); return ExitStatus.ok }
            Sys.print("\(id) cancel requested; no daemon has acted on it yet (it will when one runs)\n")
            return ExitStatus.ok
        }
    }
}
