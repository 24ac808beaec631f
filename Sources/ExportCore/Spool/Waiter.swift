import Glibc

/// Blocks until jobs finish, woken by inotify on the spool's status and
/// finished directories (with a one-second safety poll).
public final class Waiter {
    public let spool: Spool
    public let ids: [JobID]

    public init(spool: Spool, ids: [JobID]) {
        self.spool = spool
        self.ids = ids
    }

    /// Waits until every job is completed, failed or cancelled.
    /// - Parameters:
    ///   - timeout: seconds; nil waits for ever.
    ///   - onChange: called with every job's current record whenever one changes.
    /// - Returns: the final records, or nil when the timeout expired first.
    public func run(timeout: Double?, onChange: ([StatusSidecar]) -> Void = { _ in }) throws(SpoolError) -> [StatusSidecar]? {
        let deadline = timeout.map { Clock.monotonic() + $0 }
        let dirs = ["status", "done", "failed", "cancelled", "queue"].map { spool.path($0) }
        let watcher = try? DirectoryWatcher(directories: dirs, mask: UInt32(IN_MOVED_TO | IN_CLOSE_WRITE))
        var last: [StatusSidecar] = []
        while true {
            var records: [StatusSidecar] = []
            for id in ids { records.append(try spool.status(of: id)) }
            if records != last { onChange(records); last = records }
            if records.allSatisfy({ $0.state.isFinished }) { return records }
            var wait = 1.0
            if let deadline {
                let left = deadline - Clock.monotonic()
                if left <= 0 { return nil }
                wait = min(wait, left)
            }
            if let watcher {
                var p = pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, Int32(wait * 1000))
                _ = watcher.read()
            } else {
                usleep(UInt32(wait * 200_000))
            }
        }
    }
}
