import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl stats`: figures from the analytics log.
    struct StatsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Summarise the analytics log: renders by kind, outcome and user, media seconds, render times.",
            discussion: "--since takes an ISO 8601 date or date-time (UTC unless it ends in Z or ±HH:MM) or a length of time back from now (90m, 24h, 7d, 2w). --prometheus prints the figures in the Prometheus text format, as the daemon's metricsFile holds them.")

        @OptionGroup var spoolOption: SpoolOption
        @Flag(help: "Print the figures as a JSON object.") var json = false
        @Flag(help: "Print the figures in the Prometheus text exposition format.") var prometheus = false
        @Option(help: ArgumentHelp("Only jobs that finished since this time: 2026-11-22, 2026-11-22T10:00Z, or 24h, 7d back from now.", valueName: "when"))
        var since: String?
        @Option(help: ArgumentHelp("Only this user's jobs (the user id as given in job files; matched by its salted hash).", valueName: "user"))
        var user: String?

        func validate() throws {
            if json && prometheus { throw ValidationError("--json and --prometheus cannot be combined; choose one") }
            if let since, TimeSpan.since(since, now: 0) == nil {
                throw ValidationError("--since '\(since)' is neither a time (2026-11-22, 2026-11-22T10:00:00Z) nor a length of time back from now (90m, 24h, 7d)")
            }
        }

        func run() throws {
            let spool = spoolOption.resolved
            let now = Clock.now()
            let start = since.flatMap { TimeSpan.since($0, now: now) }
            var entries: [AnalyticsLog.Entry]
            do { entries = try AnalyticsLog(path: spool.analyticsPath).entries() } catch { throw fail(error.description, ExitStatus.ioError) }
            if let user {
                let hash: String
                do { hash = try spool.hashUser(user) } catch { throw fail("cannot read the spool's secret to hash the user: \(error)", ExitStatus.ioError) }
                entries = entries.filter { $0.userHash == hash }
            }
            if prometheus {
                var m = Metrics()
                for e in entries where start.map({ e.time >= $0 }) ?? true { m.add(e) }
                Sys.print(m.text(Metrics.Gauges(spool: spool, now: now, daemonRunning: SpoolLock.isHeld(spool)), now: now))
                return
            }
            let s = Stats(entries: entries, since: start, breakdowns: true)
            if json { Sys.print(s.json().jsonText() + "\n"); return }
            var out = "renders: \(s.total)" + (start.map { " since \(Clock.iso8601($0))" } ?? "") + "\n"
            for c in s.counts { out += "  \(c.kind) \(c.outcome): \(c.jobs)\n" }
            out += "unique users: \(s.uniqueUsers)\n"
            out += "media rendered: \(Format.seconds(s.mediaSeconds)) in \(Format.bytes(s.outputBytes))\n"
            if let m = s.renderSecondsMedian, let p = s.renderSecondsP95 {
                out += "render time: median \(Format.seconds(m)), p95 \(Format.seconds(p))\n"
            }
            if !s.perKind.isEmpty { out += "by kind:\n" + s.perKind.map { "  \($0.key): " + summary($0.stats) + "\n" }.joined() }
            if !s.perUser.isEmpty {
                out += "by user:\n" + s.perUser.map { g in
                    "  \(g.key == Stats.noUser ? "(no user)" : String(g.key.prefix(12))): " + summary(g.stats) + "\n"
                }.joined()
            }
            Sys.print(out)
        }

        /// `4 jobs (3 completed, 1 failed), 2 min of media, median 1.2 s`
        private func summary(_ s: Stats) -> String {
            var byOutcome: [String: Int] = [:]
            for c in s.counts { byOutcome[c.outcome, default: 0] += c.jobs }
            var out = "\(s.total) job\(s.total == 1 ? "" : "s") (" + byOutcome.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"
            if s.mediaSeconds > 0 { out += ", \(Format.seconds(s.mediaSeconds)) of media" }
            if let m = s.renderSecondsMedian { out += ", median render \(Format.seconds(m))" }
            return out
        }
    }
}
