import Glibc

/// The spool's figures in the Prometheus text exposition format (version 0.0.4):
/// `exportctl stats --prometheus` and the daemon's `metricsFile` for
/// node_exporter's textfile collector.
///
/// Counters come from the analytics log, one count per finished attempt
/// (a line written twice across a crash counts once; a job retried by hand
/// after it failed counts once failed and once completed). Gauges come from
/// the spool's directories at the moment of writing.
public struct Metrics: Sendable {
    /// Upper bounds of the render duration histogram, in seconds.
    public static let buckets: [Double] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
    static let outcomes = ["completed", "failed", "cancelled"]

    struct Histogram: Sendable {
        var counts = [Int](repeating: 0, count: Metrics.buckets.count)
        var sum = 0.0
        var count = 0

        mutating func observe(_ v: Double) {
            for (i, b) in Metrics.buckets.enumerated() where v <= b { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    var renders: [String: [String: Int]] = [:]
    var failures: [String: [String: Int]] = [:]
    var durations: [String: Histogram] = [:]
    var mediaSeconds: [String: Double] = [:]
    var outputBytes: [String: Int64] = [:]
    private var seen: Set<UInt64> = []

    public init() {}

    /// Counts one analytics line, unless the same attempt's same outcome was counted already.
    public mutating func add(_ e: AnalyticsLog.Entry) {
        var h = Hasher()
        h.combine(e.id); h.combine(e.attempt); h.combine(e.outcome)
        guard seen.insert(UInt64(bitPattern: Int64(h.finalize()))).inserted else { return }
        renders[e.kind, default: [:]][e.outcome, default: 0] += 1
        if e.outcome == "failed" { failures[e.kind, default: [:]][e.errorCode ?? "unknown", default: 0] += 1 }
        if e.outcome == "completed" {
            if let r = e.renderSeconds { durations[e.kind, default: Histogram()].observe(r) }
            mediaSeconds[e.kind, default: 0] += e.mediaSeconds ?? 0
            outputBytes[e.kind, default: 0] += e.bytes ?? 0
        }
    }

    /// What the spool's directories hold now.
    public struct Gauges: Sendable {
        public var jobs: [(state: String, count: Int)] = []
        /// Seconds since the oldest job in queue/ (queued or deferred) was submitted (0 with an empty queue).
        public var oldestQueuedAge: Double = 0
        public var daemonRunning: Bool

        public init(spool: Spool, now: Double, daemonRunning: Bool) {
            self.daemonRunning = daemonRunning
            for state in JobState.allCases {
                let ids = (try? spool.ids(in: state)) ?? []
                if state == .queued {
                    // queue/ holds deferred jobs too (waiting to retry, for notBefore or for disk space).
                    let deferred = ids.isEmpty ? 0 : ((try? QueueSnapshot(spool: spool, now: now))?.entries.values.filter { $0.deferredReason != nil }.count ?? 0)
                    jobs.append((JobState.queued.rawValue, ids.count - deferred))
                    jobs.append((JobState.deferred.rawValue, deferred))
                    if let oldest = ids.first { oldestQueuedAge = max(0, now - oldest.timestamp) }
                } else {
                    jobs.append((state.rawValue, ids.count))
                }
            }
        }
    }

    /// The exposition text: each family once, its HELP and TYPE first; histogram
    /// buckets cumulative up to `+Inf`, then `_sum` and `_count`.
    public func text(_ g: Gauges, now: Double) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
            let l = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Metrics.escape($0.1))\"" }.joined(separator: ",") + "}"
            out += name + l + " " + value + "\n"
        }
        let kinds = Set(JobKind.allCases.map(\.rawValue)).union(renders.keys).sorted()

        family("exportctl_jobs", "gauge", "Jobs in the spool by state (the directory the job file is in).")
        for j in g.jobs { sample("exportctl_jobs", [("state", j.state)], String(j.count)) }
        family("exportctl_oldest_queued_job_age_seconds", "gauge", "Seconds since the oldest queued job was submitted; 0 when the queue is empty.")
        sample("exportctl_oldest_queued_job_age_seconds", [], Metrics.number(g.oldestQueuedAge))
        family("exportctl_daemon_running", "gauge", "1 when a daemon holds the spool's lock.")
        sample("exportctl_daemon_running", [], g.daemonRunning ? "1" : "0")

        family("exportctl_renders_total", "counter", "Finished attempts by kind and outcome, from the analytics log.")
        for k in kinds {
            let byOutcome = renders[k] ?? [:]
            for o in Set(Metrics.outcomes).union(byOutcome.keys).sorted() {
                sample("exportctl_renders_total", [("kind", k), ("outcome", o)], String(byOutcome[o] ?? 0))
            }
        }
        family("exportctl_render_failures_total", "counter", "Failed jobs by kind and error code, from the analytics log.")
        for k in kinds {
            for (code, n) in (failures[k] ?? [:]).sorted(by: { $0.key < $1.key }) {
                sample("exportctl_render_failures_total", [("kind", k), ("code", code)], String(n))
            }
        }
        family("exportctl_render_duration_seconds", "histogram", "Render time of completed jobs by kind, in seconds.")
        for k in kinds {
            let h = durations[k] ?? Histogram()
            for (i, b) in Metrics.buckets.enumerated() {
                sample("exportctl_render_duration_seconds_bucket", [("kind", k), ("le", Metrics.number(b))], String(h.counts[i]))
            }
            sample("exportctl_render_duration_seconds_bucket", [("kind", k), ("le", "+Inf")], String(h.count))
            sample("exportctl_render_duration_seconds_sum", [("kind", k)], Metrics.number(h.sum))
            sample("exportctl_render_duration_seconds_count", [("kind", k)], String(h.count))
        }
        family("exportctl_media_seconds_total", "counter", "Seconds of media rendered by completed jobs, by kind.")
        for k in kinds { sample("exportctl_media_seconds_total", [("kind", k)], Metrics.number(mediaSeconds[k] ?? 0)) }
        family("exportctl_output_bytes_total", "counter", "Bytes written by completed jobs, by kind.")
        for k in kinds { sample("exportctl_output_bytes_total", [("kind", k)], String(outputBytes[k] ?? 0)) }
        family("exportctl_metrics_generated_timestamp_seconds", "gauge", "When these figures were taken (seconds since the epoch).")
        sample("exportctl_metrics_generated_timestamp_seconds", [], Metrics.number((now * 1000).rounded() / 1000))
        return out
    }

    /// A sample value: whole numbers without a fraction, others to the millisecond.
    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String((d * 1000).rounded() / 1000)
    }

    /// A label value with `\`, `"` and newlines escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}

extension AnalyticsLog {
    /// The complete lines from byte `offset` on, and the offset just past the
    /// last of them (where the next read starts); an unterminated last line
    /// waits for its newline. Returns nil when the log is shorter than `offset`
    /// (it was cut or replaced: read it again from 0).
    public func entries(from offset: Int64) throws(SystemError) -> (entries: [Entry], next: Int64)? {
        let fd: Int32
        do { fd = try Sys.open(path, O_RDONLY | O_NOFOLLOW) } catch {
            if error.errno == ENOENT { return offset == 0 ? ([], 0) : nil }
            throw error
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat", path) }
        let size = Int64(st.st_size)
        if size < offset { return nil }
        if size == offset { return ([], offset) }
        let count = Int(size - offset)
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buf.withUnsafeMutableBytes { b in Sys.retry { pread(fd, b.baseAddress! + got, count - got, off_t(offset) + off_t(got)) } }
            if n < 0 { throw SystemError("read", path) }
            if n == 0 { break }
            got += n
        }
        var out: [Entry] = []
        var lineStart = 0
        for i in 0..<got where buf[i] == 0x0a {
            defer { lineStart = i + 1 }
            if i > lineStart, let v = try? JSONParser.parse(Array(buf[lineStart..<i])), let e = Entry(json: v) { out.append(e) }
        }
        return (out, offset + Int64(lineStart))
    }
}
