import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl wait`: block until jobs finish.
    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "wait",
            abstract: "Wait until jobs finish; exit 0 if all completed, 1 if any failed, 2 if any was cancelled, 124 on timeout.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job ids.", valueName: "id")) var ids: [String]
        @Option(help: ArgumentHelp("Give up after this many seconds (exit 124).", valueName: "seconds")) var timeout: Double?
        @Flag(help: "Print each job's final status as one JSON object per line.") var json = false
        @Flag(help: "Stream NDJSON events (one line per state change or progress step) until every job is finished.") var follow = false

        func validate() throws {
            if ids.isEmpty { throw ValidationError("give at least one job id") }
            if let t = timeout, t < 0 { throw ValidationError("--timeout must be ≥ 0") }
        }

        func run() throws {
            if follow { try followJobs(spool: spoolOption.resolved, ids: try parseIDs(ids), timeout: timeout); return }
            try waitForJobs(spool: spoolOption.resolved, ids: try parseIDs(ids), timeout: timeout, json: json, printFinal: true)
        }
    }
}

/// Waits for `ids`, showing progress on a terminal, then exits like `wait`.
func waitForJobs(spool: Spool, ids: [JobID], timeout: Double?, json: Bool, printFinal: Bool) throws {
    // A shared spool: jobs just dropped are not in the spool's folders until the daemon takes them in.
    let started = Clock.monotonic()
    if SharedSpool.isShared(spool), !SharedSpool.awaitTakeIn(ids, in: spool, timeout: timeout) {
        throw fail("timed out after \(Format.seconds(timeout ?? 0)) waiting for the daemon to take in \(ids.count == 1 ? ids[0].rawValue : "\(ids.count) jobs") from drop/", ExitStatus.timedOut)
    }
    let timeout = timeout.map { max(0, $0 - (Clock.monotonic() - started)) }
    let tty = stderrIsTerminal
    var shown = false
    let result: [StatusSidecar]?
    do {
        result = try Waiter(spool: spool, ids: ids).run(timeout: timeout) { records in
            guard tty else { return }
            let done = records.filter { $0.state.isFinished }.count
            let active = records.first { $0.state == .processing } ?? records.first { !$0.state.isFinished }
            var line = "\(done)/\(records.count) finished"
            if let a = active {
                line += "  \(a.id)  " + (a.state == .queued ? "queued, position \(a.position ?? 0)" : "\(Int(a.progress * 100))% \(a.stage ?? "")")
            }
            Sys.print("\r\u{1b}[K" + line, fd: 2)
            shown = true
        }
    } catch {
        throw fail(error.description, exitStatus(for: error))
    }
    if shown { Sys.print("\r\u{1b}[K", fd: 2) }
    guard let records = result else {
        throw fail("timed out after \(Format.seconds(timeout ?? 0)) waiting for \(ids.count == 1 ? ids[0].rawValue : "\(ids.count) jobs")", ExitStatus.timedOut)
    }
    if printFinal || json {
        Sys.print(records.map { json ? $0.json().jsonText() : Format.line($0) }.joined(separator: "\n") + "\n")
    } else {
        for r in records where r.state != .completed { Sys.print("exportctl: " + Format.line(r) + "\n", fd: 2) }
    }
    let code = exitStatus(for: records)
    if code != 0 { throw ExitCode(code) }
}
