import Glibc

/// How long a job will take to render, learned from the analytics log.
///
/// Jobs are grouped by kind and size class (`sizeClass`). A job's work is
/// counted in units: seconds of media for mp3 and mp4 (after the trim),
/// slides for a carousel. From the last 50 completed renders of a group the
/// estimator fits `seconds = a + b × units` by least squares (a fixed cost
/// per job, then a cost per unit), or, with fewer renders or lengths that
/// hardly vary, the default fixed cost and the rest per unit; a group without history uses the
/// documented defaults (`Estimator.defaults`, measured on the benchmark
/// machine with a release build). Only the last 1 MiB of the log is read.
public struct Estimator: Sendable {
    /// One estimate and what it rests on.
    public struct Estimate: Sendable, Equatable {
        public var seconds: Double
        /// Renders it was learned from; 0 for the default.
        public var basis: Int
        /// `kind/class`, the group it was taken from.
        public var group: String
    }

    struct Model: Sendable, Equatable {
        var fixed: Double
        var perUnit: Double
        var renders: Int
        func seconds(_ units: Double) -> Double { fixed + perUnit * units }
    }

    var models: [String: Model] = [:]

    /// Renders of a group the fit uses (the most recent ones).
    public static let window = 50
    /// Bytes of the end of the analytics log that are read.
    public static let logTail = 1 << 20

    /// Seconds a render takes with no history: fixed cost, and cost per unit
    /// (per media second, per slide for a carousel), by `kind/class`.
    public static let defaults: [String: (fixed: Double, perUnit: Double)] = [
        "mp3/audio": (0.15, 0.011),
        "mp4/slides-sd": (0.3, 0.05), "mp4/slides-hd": (0.3, 0.12), "mp4/slides-fhd": (0.3, 0.25), "mp4/slides-uhd": (0.3, 1.0),
        "mp4/video-sd": (0.3, 0.1), "mp4/video-hd": (0.3, 0.31), "mp4/video-fhd": (0.3, 0.6), "mp4/video-uhd": (0.3, 2.0),
        "carousel/png": (0.1, 0.15), "carousel/jpeg": (0.1, 0.05), "carousel/webp": (0.1, 0.2), "carousel/pdf": (0.1, 0.06),
    ]

    /// An estimator with no history (defaults only).
    public init() {}

    /// Learns from `entries` (in log order).
    public init(entries: [AnalyticsLog.Entry]) {
        var groups: [String: [(units: Double, seconds: Double)]] = [:]
        for e in entries where e.outcome == "completed" {
            guard let cls = e.sizeClass, let seconds = e.renderSeconds, seconds > 0 else { continue }
            let units = e.kind == JobKind.carousel.rawValue ? e.slides.map(Double.init) : e.mediaSeconds
            guard let units, units > 0 else { continue }
            groups[e.kind + "/" + cls, default: []].append((units, seconds))
        }
        for (group, all) in groups {
            models[group] = Estimator.fit(Array(all.suffix(Estimator.window)), fixed: Estimator.defaults[group]?.fixed ?? 0.3)
        }
    }

    /// Learns from the end of `spool`'s analytics log; without a readable log, defaults only.
    /// - Parameter groups: the `kind/class` groups wanted; the log is read
    ///   backwards only until each has `window` renders (nil: the whole tail).
    public static func load(_ spool: Spool, groups: Set<String>? = nil) -> Estimator {
        Estimator(entries: (try? recentEntries(AnalyticsLog(path: spool.analyticsPath), groups: groups)) ?? [])
    }

    /// The `kind/class` group of `job`.
    public static func group(of job: Job) -> String { job.kind.rawValue + "/" + sizeClass(of: job) }

    /// Least squares `seconds = a + b × units` with a, b ≥ 0, from 3 renders
    /// whose lengths vary; otherwise the default fixed cost (at most half the
    /// shortest render) and the rest as seconds per unit.
    static func fit(_ points: [(units: Double, seconds: Double)], fixed: Double) -> Model {
        let n = Double(points.count)
        let mu = points.reduce(0) { $0 + $1.units } / n, ms = points.reduce(0) { $0 + $1.seconds } / n
        let varU = points.reduce(0) { $0 + ($1.units - mu) * ($1.units - mu) } / n
        let cov = points.reduce(0) { $0 + ($1.units - mu) * ($1.seconds - ms) } / n
        if points.count >= 3, varU.squareRoot() > 0.1 * mu {
            let b = cov / varU, a = ms - b * mu
            if a >= 0 && b >= 0 { return Model(fixed: a, perUnit: b, renders: points.count) }
        }
        let a = min(fixed, 0.5 * (points.map(\.seconds).min() ?? 0))
        return Model(fixed: a, perUnit: max(0, ms - a) / mu, renders: points.count)
    }

    /// The estimate for `job`.
    public func estimate(_ job: Job) -> Estimate {
        let group = Estimator.group(of: job)
        let units = Estimator.units(of: job)
        if let m = models[group] { return Estimate(seconds: m.seconds(units), basis: m.renders, group: group) }
        let d = Estimator.defaults[group] ?? (0.3, 0.5)
        return Estimate(seconds: d.fixed + d.perUnit * units, basis: 0, group: group)
    }

    // MARK: - what a job is

    /// The group within a kind: `audio` for mp3; `slides-` or `video-` and
    /// the frame's pixel class for mp4 (sd up to 640×360, hd up to 1280×720,
    /// fhd up to 1920×1080, uhd beyond); the image format for a carousel.
    public static func sizeClass(of job: Job) -> String {
        switch job.kind {
        case .mp3: return "audio"
        case .mp4:
            let pixels = job.mp4.width * job.mp4.height
            let cls = pixels <= 640 * 360 ? "sd" : pixels <= 1280 * 720 ? "hd" : pixels <= 1920 * 1080 ? "fhd" : "uhd"
            return (job.input.isEmpty ? "slides-" : "video-") + cls
        case .carousel: return job.carousel.format.rawValue
        }
    }

    /// The job's units of work: slides for a carousel, else its expected media seconds.
    public static func units(of job: Job) -> Double {
        if job.kind == .carousel { return Double(job.carousel.slides.count) }
        return job.expectedMediaSeconds ?? expectedMediaSeconds(of: job, probed: nil) ?? 60
    }

    /// The seconds of media `job` will render: `probed` (the submit-time
    /// media check's measure, for mp4), else for an mp3 the input's length
    /// read from a WAV header, or guessed from its size at 128 kbit/s for
    /// other formats, less `start`, at most `duration`; else `duration`.
    public static func expectedMediaSeconds(of job: Job, probed: Double?) -> Double? {
        if let probed { return probed }
        if job.kind == .mp3, !job.input.isEmpty {
            let total = WAVHeader.seconds(job.input) ?? Sys.fileStatus(job.input).map { Double($0.st_size) / 16_000 }
            if let total {
                let left = max(0, total - (job.start ?? 0))
                return job.duration.map { min($0, left) } ?? left
            }
        }
        if job.kind == .mp4, job.input.isEmpty, job.mp4.audio == nil {
            let fixed = job.mp4.slides.reduce(0) { $0 + ($1.duration ?? 0) }
            if fixed > 0 { return fixed }
        }
        return job.duration
    }

    /// Completed renders from the last `logTail` bytes of `log`, in log
    /// order, the last line per job kept; read from the end, and only until
    /// each of `groups` has `window` of them, so a submit parses a few dozen lines.
    static func recentEntries(_ log: AnalyticsLog, groups: Set<String>?) throws(SystemError) -> [AnalyticsLog.Entry] {
        let fd: Int32
        do { fd = try Sys.open(log.path, O_RDONLY | O_NOFOLLOW) } catch {
            if error.errno == ENOENT { return [] }
            throw error
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat", log.path) }
        let size = Int(st.st_size), start = max(0, size - logTail)
        var buf = [UInt8](repeating: 0, count: size - start)
        let n = buf.withUnsafeMutableBytes { b in Sys.retry { pread(fd, b.baseAddress!, b.count, off_t(start)) } }
        if n < 0 { throw SystemError("read", log.path) }
        let completed = Array(#""outcome":"completed""#.utf8)
        var out: [AnalyticsLog.Entry] = []
        var seen: Set<String> = []
        var counts: [String: Int] = [:]
        var end = n
        // Only whole lines: the bytes after the last newline are a torn line, and
        // the first line of the window may be cut at its front.
        while end > 0, buf[end - 1] != 0x0a { end -= 1 }
        while end > 0 {
            var lineStart = end - 1
            while lineStart > 0, buf[lineStart - 1] != 0x0a { lineStart -= 1 }
            defer { end = lineStart }
            guard lineStart > 0 || start == 0, end - 1 > lineStart else { continue }
            let line = buf[lineStart..<(end - 1)]
            guard let v = try? JSONParser.parse(Array(line)), let e = AnalyticsLog.Entry(json: v), seen.insert(e.id).inserted,
                  line.firstRange(of: completed) != nil, let cls = e.sizeClass else { continue }
            let group = e.kind + "/" + cls
            if let groups, !groups.contains(group) { continue }
            counts[group, default: 0] += 1
            if counts[group]! <= window { out.append(e) }
            if let groups, groups.allSatisfy({ (counts[$0] ?? 0) >= window }) { break }
        }
        return out.reversed()
    }
}

/// The length of a WAV file from its header (RIFF `fmt ` byte rate and `data` size).
enum WAVHeader {
    static func seconds(_ path: String) -> Double? {
        guard let fd = try? Sys.open(path, O_RDONLY | O_NOFOLLOW) else { return nil }
        defer { Glibc.close(fd) }
        var b = [UInt8](repeating: 0, count: 4096)
        let n = b.withUnsafeMutableBytes { p in Sys.retry { pread(fd, p.baseAddress!, p.count, 0) } }
        guard n >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        func u32(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
        var at = 12
        var byteRate = 0
        var st = stat()
        let fileSize = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        while at + 8 <= n {
            let size = u32(at + 4)
            if b[at..<at + 4].elementsEqual("fmt ".utf8), at + 20 <= n { byteRate = u32(at + 16) }
            if b[at..<at + 4].elementsEqual("data".utf8) {
                guard byteRate > 0 else { return nil }
                let data = size == 0 || size == 0xffff_ffff || at + 8 + size > fileSize ? fileSize - at - 8 : size
                return Double(data) / Double(byteRate)
            }
            at += 8 + size + (size & 1)
        }
        return nil
    }
}
