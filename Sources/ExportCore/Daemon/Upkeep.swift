/// The daemon's periodic chores, apart from rendering: the retention sweep
/// (`exportctl gc`) every `gcInterval`, and the metrics file rewritten every
/// `metricsIntervalSeconds` and whenever the analytics log grows (a job ended).
///
/// Scheduled on the monotonic clock; `Daemon` calls `tick` on each turn of its
/// loop and sleeps no longer than `secondsUntilDue`.
final class Upkeep {
    let spool: Spool
    private var nextSweep: Double?
    private var nextMetrics = 0.0
    private var metrics: MetricsFile
    private var metricsPath: String?
    private var logSize: Int64 = -1
    private let log: (String) -> Void

    init(spool: Spool, log: @escaping (String) -> Void) {
        self.spool = spool
        self.log = log
        metrics = MetricsFile(spool: spool)
    }

    /// Does whatever is due under `settings`.
    func tick(_ settings: UpkeepSettings, now: Double = Clock.monotonic()) {
        // The first sweep a minute after start (or sooner with a shorter interval):
        // start-up recovery has just tidied the spool.
        if let interval = settings.gcInterval, nextSweep == nil { nextSweep = now + min(60, interval) }
        if let interval = settings.gcInterval, let due = nextSweep, now >= due {
            nextSweep = now + interval
            do {
                for r in try Retention(spool: spool, settings: settings).run(dryRun: false) { log("gc: removed \(r)") }
            } catch {
                log("gc: \(error)")
            }
        }
        guard let path = settings.metricsFile else { metricsPath = nil; return }
        let size = Sys.fileStatus(spool.analyticsPath).map { Int64($0.st_size) } ?? 0
        guard now >= nextMetrics || size != logSize || path != metricsPath else { return }
        nextMetrics = now + settings.metricsIntervalSeconds
        do {
            try metrics.write(to: path)
            if path != metricsPath { log("metrics: writing \(path) every \(TimeSpan.describe(settings.metricsIntervalSeconds)) and at each job's end") }
            metricsPath = path
            logSize = size
        } catch {
            if path != metricsPath { log("metrics: cannot write \(path): \(error)") }
            metricsPath = path
            logSize = size
        }
    }

    /// Seconds until the next chore is due (the longest the daemon may sleep).
    func secondsUntilDue(_ settings: UpkeepSettings, now: Double = Clock.monotonic()) -> Double {
        var due = Double.infinity
        if settings.gcInterval != nil { due = min(due, (nextSweep ?? now) - now) }
        if settings.metricsFile != nil { due = min(due, nextMetrics - now) }
        return max(0, due)
    }
}
