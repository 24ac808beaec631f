/// Where one queued job stands in the daemon's start order: its position and
/// the jobs just ahead of it, from one pass over `queue/` (`QueueScan`).
///
/// This is what `status ID` and `wait` need; unlike `QueueSnapshot` it does not
/// order the whole queue, so it costs a count, not a sort, with 10,000 queued.
public struct QueuePlace: Sendable {
    public let entry: QueueSnapshot.Entry
    /// 1 for the next job to start; nil when the job is deferred or no longer in `queue/`.
    public let position: Int?
    /// The jobs that start just before it, in start order (the nearest last).
    public let nearestAhead: [JobID]

    /// The place of `id`, with up to `nearest` of the jobs just ahead of it.
    public init(of id: JobID, spool: Spool, nearest: Int = 0, now: Double = Clock.now()) throws(SystemError) {
        let scan = QueueScan(spool: spool, now: now)
        let me = JobID.Packed(id)
        let mine = scan.standing(of: me)
        entry = QueueSnapshot.Entry(id: id, priority: mine.priority, notBefore: mine.notBefore, deferredReason: mine.deferredReason)
        guard mine.deferredReason == nil else {
            (position, nearestAhead) = (nil, [])
            return
        }
        var found = false, ahead = 0
        var near: [(Int, JobID.Packed)] = []  // in start order, at most `nearest`
        try scan.forEachQueued { k in
            if k == me { found = true; return }
            let s = scan.standing(of: k)
            let key = (s.priority, k)
            guard s.deferredReason == nil, QueueSnapshot.startsBefore(key, (mine.priority, me)) else { return }
            ahead += 1
            guard nearest > 0, near.count < nearest || QueueSnapshot.startsBefore(near[0], key) else { return }
            near.insert(key, at: near.firstIndex { QueueSnapshot.startsBefore(key, $0) } ?? near.endIndex)
            if near.count > nearest { near.removeFirst() }
        }
        position = found ? ahead + 1 : nil
        nearestAhead = found ? near.map { $0.1.id } : []
    }

    init(entry: QueueSnapshot.Entry, position: Int?, nearestAhead: [JobID]) {
        self.entry = entry
        self.position = position
        self.nearestAhead = nearestAhead
    }

    /// Gives `record` the job's priority and either its position or `deferred` with the reason.
    public func apply(to record: inout StatusSidecar, withPosition: Bool = true) {
        QueueSnapshot.apply(entry, position: withPosition ? position : nil, to: &record)
    }
}
