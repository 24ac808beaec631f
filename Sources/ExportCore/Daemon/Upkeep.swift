/// The daemon's periodic chores, apart from rendering: the retention sweep
/// (`exportctl gc`) every `gcInterval`, a slice at a time, and the metrics file rewritten every
/// `metricsIntervalSeconds` and whenever the analytics log grows (a job ended).
///
/// Scheduled on the monotonic clock; `Daemon` calls `tick` on each turn of its
/// loop and sleeps no longer than `secondsUntilDue`.
final class Upkeep {
    let spool: Spool
    private var nextSweep: Double?
    /// The retention sweep under way, if one is.
    private var sweep: Retention.Sweep?
    /// Seconds of sweeping per turn of the loop.
    static let sweepSlice = 0.01
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
        if sweep == nil, let interval = settings.gcInterval, let due = nextSweep, now >= due {
            do { sweep = try Retention.Sweep(Retention(spool: spool, settings: settings), dryRun: false) } catch {
                log("gc: \(error)")
                nextSweep = now + interval
            }
        }
        // A slice per turn of the daemon's loop: a job queued meanwhile starts after this slice, not after the whole sweep.
        if let s = sweep {
            do {
                for r in try s.step(until: Clock.monotonic() + Upkeep.sweepSlice) { log("gc: removed \(r)") }
                if s.isFinished { sweep = nil }
            } catch {
                log("gc: \(error)")
                sweep = nil
            }
            // The next one gcInterval after this one ends: a sweep longer than the interval is not started again at once.
            if sweep == nil { nextSweep = Clock.monotonic() + (settings.gcInterval ?? 0) }
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
        if sweep != nil { return 0 }
        var due = Double.infinity
        if settings.gcInterval != nil { due = min(due, (nextSweep ?? now) - now) }
        if settings.metricsFile != nil { due = min(due, nextMetrics - now) }
        return max(0, due)
    }
}
