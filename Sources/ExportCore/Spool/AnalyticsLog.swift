import Glibc

/// `SPOOL/analytics.jsonl`: one JSON line per finished job, only ever appended.
///
/// Each line is one write(2) with O_APPEND; a short write (full disk) is cut
/// back so no torn line stays. Readers skip an unterminated last line and
/// keep the last line of each job id, so a line written twice across a crash
/// counts once.
public struct AnalyticsLog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var time: Double
        public var id: String
        public var attempt: Int
        public var kind: String
        public var outcome: String
        public var userHash: String?
        public var mediaSeconds: Double?
        public var renderSeconds: Double?
        public var queueSeconds: Double?
        public var bytes: Int64?
        public var errorCode: String?
        /// The job's size class (`Estimator.sizeClass`), which estimates learn by.
        public var sizeClass: String?
        /// Slides of a carousel (its unit of work, as media seconds are for mp3 and mp4).
        public var slides: Int?

        public init(time: Double, id: String, attempt: Int, kind: String, outcome: String, userHash: String? = nil,
                    mediaSeconds: Double? = nil, renderSeconds: Double? = nil, queueSeconds: Double? = nil,
                    bytes: Int64? = nil, errorCode: String? = nil) {
            self.time = time; self.id = id; self.attempt = attempt; self.kind = kind; self.outcome = outcome
            self.userHash = userHash; self.mediaSeconds = mediaSeconds; self.renderSeconds = renderSeconds
            self.queueSeconds = queueSeconds; self.bytes = bytes; self.errorCode = errorCode
        }

        func json() -> JSONValue {
            func r(_ d: Double?) -> JSONValue? { d.map { .double(($0 * 1000).rounded() / 1000) } }
            return .compactObject([
                ("time", .string(Clock.iso8601(time))),
                ("id", .string(id)),
                ("attempt", .int(Int64(attempt))),
                ("event", .string("finished")),
                ("kind", .string(kind)),
                ("outcome", .string(outcome)),
                ("user", userHash.map { .string($0) } ?? .null),
                ("mediaSeconds", r(mediaSeconds)),
                ("renderSeconds", r(renderSeconds)),
                ("queueSeconds", r(queueSeconds)),
                ("bytes", bytes.map { .int($0) }),
                ("error", errorCode.map { .string($0) } ?? .null),
                ("class", sizeClass.map { .string($0) }),
                ("slides", slides.map { .int(Int64($0)) }),
            ])
        }

        init?(json v: JSONValue) {
            guard let id = v["id"]?.stringValue, let kind = v["kind"]?.stringValue,
                  let outcome = v["outcome"]?.stringValue else { return nil }
            self.init(time: v["time"]?.stringValue.flatMap(Clock.parseISO8601) ?? 0, id: id,
                      attempt: Int(v["attempt"]?.intValue ?? 1), kind: kind, outcome: outcome,
                      userHash: v["user"]?.stringValue, mediaSeconds: v["mediaSeconds"]?.doubleValue,
                      renderSeconds: v["renderSeconds"]?.doubleValue, queueSeconds: v["queueSeconds"]?.doubleValue,
                      bytes: v["bytes"]?.intValue, errorCode: v["error"]?.stringValue)
            sizeClass = v["class"]?.stringValue
            slides = v["slides"]?.intValue.map { Int($0) }
        }
    }

    public let path: String

    public init(path: String) { self.path = path }

    /// Appends one line in one write; on a short write, truncates back to where it began.
    /// A torn last line left by a crash is cut first, so a new line is never glued onto it.
    public func append(_ entry: Entry) throws(SystemError) {
        let line = Array((entry.json().jsonText() + "\n").utf8)
        let fd = try Sys.open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600)
        defer { Glibc.close(fd) }
        var st = stat()
        var before = fstat(fd, &st) == 0 ? st.st_size : -1
        if before > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, before - 1) == 1 && last != 0x0a {
                try repair()
                before = fstat(fd, &st) == 0 ? st.st_size : -1
            }
        }
        let n = line.withUnsafeBytes { b in Sys.retry { Glibc.write(fd, b.baseAddress!, b.count) } }
        if n != line.count {
            let e = n < 0 ? errno : ENOSPC
            if before >= 0 { _ = ftruncate(fd, before) }
            throw SystemError("write", path, errno: e)
        }
        try Sys.fsync(fd, path: path)
    }

    /// Whether one of the complete lines in the last `window` bytes is for job
    /// `id`'s attempt `attempt` with `outcome`: how a job concluded again after
    /// a crash tells that its line was already written (the log is read from the end, cheaply).
    public func hasRecent(id: String, attempt: Int, outcome: String, window: Int = 1 << 16) throws(SystemError) -> Bool {
        let fd: Int32
        do { fd = try Sys.open(path, O_RDONLY | O_NOFOLLOW) } catch {
            if error.errno == ENOENT { return false }
            throw error
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat", path) }
        let size = Int(st.st_size), start = max(0, size - window)
        var buf = [UInt8](repeating: 0, count: size - start)
        let n = buf.withUnsafeMutableBytes { b in Sys.retry { pread(fd, b.baseAddress!, b.count, off_t(start)) } }
        if n < 0 { throw SystemError("read", path) }
        let needle = Array(id.utf8)
        var lineStart = 0
        for i in 0..<n where buf[i] == 0x0a {
            defer { lineStart = i + 1 }
            // A line that starts inside the window may be cut at its front: parse only whole ones.
            guard i > lineStart, lineStart > 0 || start == 0 else { continue }
            let line = buf[lineStart..<i]
            guard line.count >= needle.count, line.firstRange(of: needle) != nil,
                  let v = try? JSONParser.parse(Array(line)), let e = Entry(json: v) else { continue }
            if e.id == id && e.attempt == attempt && e.outcome == outcome { return true }
        }
        return false
    }

    /// Cuts an unterminated last line (from a crash or a full disk mid-write).
    /// Returns how many bytes were removed.
    @discardableResult
    public func repair() throws(SystemError) -> Int {
        guard let torn = try tornBytes(), torn > 0 else { return 0 }
        let fd = try Sys.open(path, O_RDWR | O_NOFOLLOW)
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat", path) }
        if ftruncate(fd, st.st_size - off_t(torn)) != 0 { throw SystemError("ftruncate", path) }
        try Sys.fsync(fd, path: path)
        return torn
    }

    /// Bytes after the last newline (a torn last line), or nil when there is no log.
    public func tornBytes() throws(SystemError) -> Int? {
        let fd: Int32
        do { fd = try Sys.open(path, O_RDONLY | O_NOFOLLOW) } catch {
            if error.errno == ENOENT { return nil }
            throw error
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat", path) }
        var end = Int(st.st_size)
        let size = end
        var buf = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - buf.count)
            let n = buf.withUnsafeMutableBytes { b in Sys.retry { pread(fd, b.baseAddress!, end - start, off_t(start)) } }
            if n <= 0 { throw SystemError("read", path) }
            if let i = buf[0..<n].lastIndex(of: 0x0a) { return size - (start + i + 1) }
            end = start
        }
        return size
    }

    /// Every complete line, the last one per job id kept, in log order.
    public func entries() throws(SystemError) -> [Entry] {
        let bytes: [UInt8]
        do { bytes = try Sys.readFile(path, limit: 1 << 30) } catch {
            if error.errno == ENOENT { return [] }
            throw error
        }
        var out: [Entry] = []
        var index: [String: Int] = [:]
        var lineStart = 0
        for i in bytes.indices where bytes[i] == 0x0a {
            defer { lineStart = i + 1 }
            guard i > lineStart, let v = try? JSONParser.parse(Array(bytes[lineStart..<i])), let e = Entry(json: v) else { continue }
            if let at = index[e.id] { out[at] = e } else { index[e.id] = out.count; out.append(e) }
        }
        return out
    }
}
