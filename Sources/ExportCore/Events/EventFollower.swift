import Glibc

/// Reads `SPOOL/events.jsonl` as it grows, like `tail -F`: follows it across
/// a rotation (the old file is read to its end first) and across its creation.
public final class EventFollower {
    public let log: EventLog
    private var fd: Int32 = -1
    private var inode: ino_t = 0
    private var pending: [UInt8] = []

    /// - Parameter fromStart: read what is already there (the rotated file
    ///   first); otherwise start at the current end.
    public init(spool: Spool, fromStart: Bool) {
        log = EventLog(spool: spool)
        if fromStart, let old = try? Sys.open(log.rotatedPath, O_RDONLY | O_NOFOLLOW) {
            fd = old
            var st = stat()
            inode = fstat(old, &st) == 0 ? st.st_ino : 0
            // Read the rotated file now; `read()` moves on to the current one.
            pendingEvents = drain()
            Glibc.close(fd)
            fd = -1
            inode = 0
        }
        open(atEnd: !fromStart)
    }

    private var pendingEvents: [JobEvent] = []

    private func open(atEnd: Bool) {
        guard let f = try? Sys.open(log.path, O_RDONLY | O_NOFOLLOW) else { return }
        var st = stat()
        guard fstat(f, &st) == 0 else { Glibc.close(f); return }
        fd = f
        inode = st.st_ino
        pending.removeAll()
        if atEnd { lseek(fd, 0, SEEK_END) }
    }

    /// The complete lines written since the last call.
    public func read() -> [JobEvent] {
        var out = pendingEvents
        pendingEvents.removeAll()
        if fd < 0 { open(atEnd: false) }
        guard fd >= 0 else { return out }
        out += drain()
        // Rotated (or replaced) under us: finish the old file, then start the new one from its beginning.
        var st = stat()
        if lstat(log.path, &st) == 0 && st.st_ino != inode {
            out += drain()
            Glibc.close(fd)
            fd = -1
            open(atEnd: false)
            if fd >= 0 { out += drain() }
        }
        return out
    }

    private func drain() -> [JobEvent] {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { b in Sys.retry { Glibc.read(fd, b.baseAddress!, b.count) } }
            if n <= 0 { break }
            pending += buf[0..<n]
        }
        var out: [JobEvent] = []
        var start = 0
        for i in pending.indices where pending[i] == 0x0a {
            defer { start = i + 1 }
            // A line torn by a full disk does not parse and is skipped.
            if i > start, let v = try? JSONParser.parse(Array(pending[start..<i])), let e = JobEvent(json: v) { out.append(e) }
        }
        pending.removeFirst(start)
        return out
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }
}
