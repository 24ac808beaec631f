import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl events`: every job's events as NDJSON, until interrupted.
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Print every job's events (state changes and progress steps) as NDJSON until interrupted.",
            discussion: "With --since, first the logged events from that time on (the log keeps the last 8 to 16 MiB).")

        @OptionGroup var spoolOption: SpoolOption
        @Option(help: ArgumentHelp("Start with the logged events from this time: an ISO 8601 UTC time (2026-12-01T09:00:00Z) or an age (90s, 10m, 2h, 1d).", valueName: "time"))
        var since: String?

        func validate() throws {
            if let since, Events.parseSince(since, now: 0) == nil {
                throw ValidationError("--since '\(since)' is neither an ISO 8601 UTC time like 2026-12-01T09:00:00Z nor an age like 90s, 10m, 2h or 1d")
            }
        }

        func run() throws {
            let spool = spoolOption.resolved
            guard spool.exists else { throw fail("no spool at \(spool.root) (submit a job or start the daemon first)", ExitStatus.noInput) }
            let from = since.flatMap { Events.parseSince($0, now: Clock.now()) }
            EventStream(spool: spool).tail(since: from) { Sys.print($0.json().jsonText() + "\n") }
        }

        /// `2026-12-01T09:00:00Z` (fraction optional), or `N` followed by s, m, h or d before `now`.
        static func parseSince(_ text: String, now: Double) -> Double? {
            if let t = Clock.parseISO8601(text) { return t }
            guard let unit = text.last, let n = Double(text.dropLast()), n >= 0, n.isFinite else { return nil }
            let scale: Double
            switch unit {
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86400
            default: return nil
            }
            return now - n * scale
        }
    }
}

/// `wait --follow`: streams the jobs' events on stdout, then exits like `wait`.
func followJobs(spool: Spool, ids: [JobID], timeout: Double?) throws {
    let result: [StatusSidecar]?
    do {
        result = try EventStream(spool: spool).follow(ids, timeout: timeout) { Sys.print($0.json().jsonText() + "\n") }
    } catch {
        throw fail(error.description, exitStatus(for: error))
    }
    guard let records = result else {
        throw fail("timed out after \(Format.seconds(timeout ?? 0)) waiting for \(ids.count == 1 ? ids[0].rawValue : "\(ids.count) jobs")", ExitStatus.timedOut)
    }
    let code = exitStatus(for: records)
    if code != 0 { throw ExitCode(code) }
}
