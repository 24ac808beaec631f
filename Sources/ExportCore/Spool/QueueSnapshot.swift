import Glibc

/// One look at `queue/`: each job's priority and whether it may start now,
/// and the order the daemon starts them in.
///
/// The order is priority (higher first), then id (FIFO within a priority).
/// A job is deferred rather than queued while it waits to be retried, for
/// its `notBefore` time, or for disk space; deferred jobs have no position.
/// Nothing here is stored: positions are computed whenever they are read.
public struct QueueSnapshot: Sendable {
    public struct Entry: Sendable {
        public var id: JobID
        public var priority: Int
        public var notBefore: Double?
        /// Why the job may not start now; nil when it may.
        public var deferredReason: String?
    }

    /// Jobs that may start now, first to start first.
    public private(set) var startOrder: [JobID] = []
    public private(set) var entries: [JobID: Entry] = [:]
    private var positions: [JobID: Int] = [:]
    private let spool: Spool
    private let now: Double

    /// Lists `queue/`, `status/`, `priority/` and `scheduled/`, and reads the
    /// file and record only of the queued jobs that have a record (tried
    /// before) or a schedule of their own (`Spool.scheduledPath`); every
    /// other queued job has priority 0 (or its `priority/ID`) and may start.
    /// For one job's place, `QueuePlace` does less.
    public init(spool: Spool, withOrder: Bool = true, now: Double = Clock.now()) throws(SystemError) {
        self.spool = spool
        self.now = now
        guard withOrder else { return }
        let scan = QueueScan(spool: spool, now: now)
        var startable: [(Int, JobID.Packed)] = []
        try scan.forEachQueued { k in
            let s = scan.standing(of: k)
            let id = k.id
            entries[id] = Entry(id: id, priority: s.priority, notBefore: s.notBefore, deferredReason: s.deferredReason)
            if s.deferredReason == nil { startable.append((s.priority, k)) }
        }
        startOrder = startable.sorted(by: QueueSnapshot.startsBefore).map { $0.1.id }
        positions.reserveCapacity(startOrder.count)
        for (i, id) in startOrder.enumerated() { positions[id] = i + 1 }
    }

    /// Whether a job of priority `a.0` and id `a.1` starts before `b`.
    /// One comparison for ids and packed ids (`JobID.Packed` orders as the text does).
    public static func startsBefore<ID: Comparable>(_ a: (Int, ID), _ b: (Int, ID)) -> Bool {
        a.0 != b.0 ? a.0 > b.0 : a.1 < b.1
    }

    /// 1 for the next job to start; nil when `id` is not queued or is deferred.
    public func position(of id: JobID) -> Int? { positions[id] }

    /// Why a job whose sidecar is `record` and whose `notBefore` is given may not start at `now`; nil if it may.
    ///
    /// The daemon writes `deferred` with a `nextAttemptAt` between tries (over
    /// once that time has passed) and with a reason alone while it waits for
    /// disk space (over when the daemon starts the job).
    public static func deferredReason(record: StatusSidecar?, notBefore: Double?, now: Double) -> String? {
        if let r = record, r.state == .deferred {
            if let at = r.nextAttemptAt {
                if at > now { return r.deferredReason ?? "waiting to retry at \(Clock.iso8601(at))" }
            } else {
                return r.deferredReason ?? "deferred by the daemon"
            }
        }
        if let nb = notBefore, nb > now { return "not before \(Clock.iso8601(nb)) (notBefore)" }
        return nil
    }

    /// Sets a queued job's record to what this snapshot says: its effective
    /// priority, and either its position or `deferred` with the reason.
    public func apply(to record: inout StatusSidecar, withPosition: Bool = true) {
        let e = entries[record.id] ?? QueueSnapshot.entry(record.id, spool: spool, now: now, record: record)
        QueueSnapshot.apply(e, position: withPosition ? positions[record.id] : nil, to: &record)
    }

    static func apply(_ e: Entry, position: Int?, to record: inout StatusSidecar) {
        record.priority = e.priority
        record.notBefore = e.notBefore
        if let why = e.deferredReason {
            record.state = .deferred
            record.deferredReason = why
            record.position = nil
        } else {
            record.state = .queued
            record.deferredReason = nil
            record.position = position
        }
    }

    /// `id`'s place as `QueuePlace` gives it, from this snapshot; nil when it is not queued here.
    public func place(of id: JobID, nearest: Int = 0) -> QueuePlace? {
        guard let e = entries[id] else { return nil }
        let at = positions[id]
        return QueuePlace(entry: e, position: at, nearestAhead: at.map { Array(startOrder[..<($0 - 1)].suffix(nearest)) } ?? [])
    }

    static func entry(_ id: JobID, spool: Spool, now: Double, record: StatusSidecar? = nil) -> Entry {
        let s = spool.schedule(of: id, in: .queued)
        let sidecar = record ?? StatusSidecar.read(id, in: spool)
        return Entry(id: id, priority: s.priority, notBefore: s.notBefore,
                     deferredReason: deferredReason(record: sidecar, notBefore: s.notBefore, now: now))
    }
}

extension Spool {
    /// A job's effective priority (set by `exportctl priority`, else its own) and its `notBefore`.
    /// A job file that cannot be read counts as priority 0 with no `notBefore`
    /// (the daemon fails it when it claims it).
    public func schedule(of id: JobID, in state: JobState) -> (priority: Int, notBefore: Double?) {
        var s = JobSchedule()
        let p = jobPath(id, state)
        if let bytes = try? Sys.readFile(p, limit: Job.maxStoredBytes), let root = try? JSONParser.parse(bytes),
           let read = try? JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false).scheduleOptions(root, name: p) {
            s = read
        }
        return (priorityOverride(id) ?? s.priority, s.notBefore)
    }

    /// The file `exportctl priority` writes: the job's new priority in decimal.
    public func priorityPath(_ id: JobID) -> String { root + "/priority/" + id.rawValue }

    /// The priority set by `exportctl priority`, if any.
    public func priorityOverride(_ id: JobID) -> Int? {
        guard let bytes = try? Sys.readFile(priorityPath(id), limit: 64),
              let n = Int(String(decoding: bytes, as: UTF8.self).trimmingNewline),
              JobSchedule.priorityRange.contains(n) else { return nil }
        return n
    }
}
