import Glibc

/// `SPOOL/events.jsonl`: one line per state change or progress step of any
/// job, appended by whoever makes the change (submit, the daemon, cancel).
///
/// Each line, or a batch's lines, is one write(2) with O_APPEND (atomic
/// between processes on a local filesystem). A failed append never fails the change itself: the
/// directory a job sits in stays the truth, and `wait --follow` reads it to
/// end. At 8 MiB the file is renamed to `events.jsonl.1` (the previous one is
/// dropped) and a new one begun; followers notice and reopen.
public struct EventLog: Sendable {
    public let path: String
    public var rotatedPath: String { path + ".1" }
    public var limit: Int = 8 << 20

    public init(spool: Spool) { path = spool.path("events.jsonl") }

    /// Appends `event`; errors are swallowed (see above).
    public func append(_ event: JobEvent) { append([event]) }

    /// Appends `events` in one write (a batch of 1,000 submits opens the log once).
    public func append(_ events: [JobEvent]) {
        guard !events.isEmpty else { return }
        let lines = Array(events.map { $0.json().jsonText() + "\n" }.joined().utf8)
        guard var fd = try? Sys.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600) else { return }
        var st = stat()
        if fstat(fd, &st) == 0 && Int(st.st_size) + lines.count > limit {
            Glibc.close(fd)
            rotate()
            guard let again = try? Sys.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600) else { return }
            fd = again
        }
        _ = lines.withUnsafeBytes { b in Sys.retry { Glibc.write(fd, b.baseAddress!, b.count) } }
        Glibc.close(fd)
    }

    /// Moves a full log aside; of two writers racing here only one rename wins.
    private func rotate() {
        try? Sys.unlink(rotatedPath)
        try? Sys.renameNoReplace(path, rotatedPath)
    }

    /// Appends a line for `record` when it differs from the record it replaces.
    public func appendChange(from old: StatusSidecar?, to new: StatusSidecar) {
        if JobEvent.differs(old, new) { append(JobEvent(record: new)) }
    }
}
