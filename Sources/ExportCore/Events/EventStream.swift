import Glibc

/// What `exportctl wait --follow` and `exportctl events` print: job events
/// from `SPOOL/events.jsonl`, woken by inotify (with a one-second safety poll).
public final class EventStream {
    public let spool: Spool

    public init(spool: Spool) { self.spool = spool }

    /// Streams events of `ids` until every one is finished; returns their final records,
    /// or nil when `timeout` expired first.
    ///
    /// The first line of each job is its current record. The end is decided by the
    /// directories the jobs sit in (the truth), read before the log is drained; a final
    /// state the log lacks (an append lost to a full disk) is emitted from the job's
    /// record, so a final state is never missed.
    public func follow(_ ids: [JobID], timeout: Double?, emit: (JobEvent) -> Void) throws(SpoolError) -> [StatusSidecar]? {
        let deadline = timeout.map { Clock.monotonic() + $0 }
        // Open the log at its end before taking the snapshot, so nothing falls in between.
        let follower = EventFollower(spool: spool, fromStart: false)
        let watcher = makeWatcher()
        let wanted = Set(ids)
        var last: [JobID: StatusSidecar] = [:]
        for id in ids {
            let r = try spool.status(of: id)
            emit(JobEvent(record: r))
            last[id] = r
        }
        while true {
            var now: [StatusSidecar] = []
            for id in ids { now.append(try spool.status(of: id)) }
            for e in follower.read() where wanted.contains(e.record.id) {
                if JobEvent.differs(last[e.record.id], e.record) { emit(e); last[e.record.id] = e.record }
            }
            if now.allSatisfy({ $0.state.isFinished }) {
                for r in now where last[r.id]?.state != r.state { emit(JobEvent(record: r)) }
                return now
            }
            var wait = 1.0
            if let deadline {
                let left = deadline - Clock.monotonic()
                if left <= 0 { return nil }
                wait = min(wait, left)
            }
            sleep(watcher, wait)
        }
    }

    /// Streams every job's events until the process is stopped; with `since`,
    /// first the logged events from that time on (as far back as the log goes).
    public func tail(since: Double?, emit: (JobEvent) -> Void) -> Never {
        let follower = EventFollower(spool: spool, fromStart: since != nil)
        let watcher = makeWatcher()
        while true {
            for e in follower.read() where since.map({ e.time >= $0 }) ?? true { emit(e) }
            sleep(watcher, 1)
        }
    }

    private func makeWatcher() -> DirectoryWatcher? {
        let dirs = [spool.root] + ["done", "failed", "cancelled"].map { spool.path($0) }
        return try? DirectoryWatcher(directories: dirs.filter { Sys.exists($0) }, mask: UInt32(IN_MODIFY | IN_MOVED_TO | IN_CREATE))
    }

    private func sleep(_ watcher: DirectoryWatcher?, _ seconds: Double) {
        if let watcher, watcher.isReliable {
            var p = pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, Int32(seconds * 1000))
            _ = watcher.read()
        } else {
            usleep(UInt32(min(seconds, 0.2) * 1_000_000))
        }
    }
}
