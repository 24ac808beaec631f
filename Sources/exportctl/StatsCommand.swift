import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl stats`: figures from the analytics log.
    struct StatsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Summarise the analytics log: renders by kind and outcome, unique users, media seconds, render times.")

        @OptionGroup var spoolOption: SpoolOption
        @Flag(help: "Print the figures as a JSON object.") var json = false

        func run() throws {
            let spool = spoolOption.resolved
            let entries: [AnalyticsLog.Entry]
            do { entries = try AnalyticsLog(path: spool.analyticsPath).entries() } catch { throw fail(error.description, ExitStatus.ioError) }
            let s = Stats(entries: entries)
            if json { Sys.print(s.json().jsonText() + "\n"); return }
            var out = "renders: \(s.total)\n"
            for c in s.counts { out += "  \(c.kind) \(c.outcome): \(c.jobs)\n" }
            out += "unique users: \(s.uniqueUsers)\n"
            out += "media rendered: \(Format.seconds(s.mediaSeconds)) in \(Format.bytes(s.outputBytes))\n"
            if let m = s.renderSecondsMedian, let p = s.renderSecondsP95 {
                out += "render time: median \(Format.seconds(m)), p95 \(Format.seconds(p))\n"
            }
            Sys.print(out)
        }
    }
}
