import Glibc

/// The daemon's Prometheus text file for node_exporter's textfile collector
/// (`metricsFile` in settings.json), replaced whole: a temp beside it (named
/// without `.prom`, so the collector never reads it half-written), then rename.
///
/// It follows the analytics log from where it last read, so an update costs
/// the lines added since, not a read of the whole log.
public final class MetricsFile {
    public let spool: Spool
    private var metrics = Metrics()
    private var offset: Int64 = 0

    public init(spool: Spool) { self.spool = spool }

    /// Reads new analytics lines and the spool's directories, then replaces the file at `path` (mode 0644).
    public func write(to path: String, now: Double = Clock.now()) throws(SystemError) {
        let log = AnalyticsLog(path: spool.analyticsPath)
        if let (entries, next) = try log.entries(from: offset) {
            for e in entries { metrics.add(e) }
            offset = next
        } else {
            metrics = Metrics()
            let (entries, next) = try log.entries(from: 0) ?? ([], 0)
            for e in entries { metrics.add(e) }
            offset = next
        }
        let text = metrics.text(Metrics.Gauges(spool: spool, now: now, daemonRunning: true), now: now)
        try MetricsFile.replace(path, with: Array(text.utf8))
    }

    /// Writes `bytes` to `path` via `DIR/.NAME.PID.tmp` and a rename.
    static func replace(_ path: String, with bytes: [UInt8]) throws(SystemError) {
        let tmp = PathRules.directory(of: path) + "/." + PathRules.basename(of: path) + ".\(getpid()).tmp"
        try? Sys.unlink(tmp)
        let fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
        do { try Sys.writeAll(fd, bytes, path: tmp) } catch { Glibc.close(fd); try? Sys.unlink(tmp); throw error }
        _ = fchmod(fd, 0o644)  // readable by node_exporter whatever the umask
        do {
            try Sys.close(fd, path: tmp)
            try Sys.rename(tmp, path)
        } catch {
            try? Sys.unlink(tmp)
            throw error
        }
    }
}
