import Glibc

/// One pass over `queue/`, with what says how a queued job differs from a
/// plain one: a record (`status/ID.json`: tried before, or deferred), a
/// schedule of its own (`scheduled/ID`) or a changed priority (`priority/ID`).
///
/// Names are read as bytes into `JobID.Packed`, so a queue of 10,000 costs no
/// String per job; only jobs with a record or a schedule have their files read.
struct QueueScan {
    /// Where a queued job stands: its priority, its `notBefore`, and why it may not start now (nil: it may).
    struct Standing {
        var priority: Int
        var notBefore: Double?
        var deferredReason: String?
    }

    let spool: Spool
    let now: Double
    private let records: Set<JobID.Packed>
    private let marked: Set<JobID.Packed>
    private let overridden: Set<JobID.Packed>

    init(spool: Spool, now: Double) {
        self.spool = spool
        self.now = now
        records = QueueScan.ids(in: spool.path("status"), suffix: ".json")
        marked = QueueScan.ids(in: spool.path("scheduled"))
        overridden = QueueScan.ids(in: spool.path("priority"))
    }

    /// Calls `body` with each job in `queue/`, in no particular order.
    func forEachQueued(_ body: (JobID.Packed) -> Void) throws(SystemError) {
        try spool.forEachID(in: .queued, body)
    }

    func standing(of k: JobID.Packed) -> Standing {
        if records.contains(k) || marked.contains(k) {
            let e = QueueSnapshot.entry(k.id, spool: spool, now: now)
            return Standing(priority: e.priority, notBefore: e.notBefore, deferredReason: e.deferredReason)
        }
        return Standing(priority: overridden.contains(k) ? spool.priorityOverride(k.id) ?? 0 : 0)
    }

    /// The ids named in a folder (each name an id, then `suffix`); empty when it cannot be read.
    private static func ids(in dir: String, suffix: String = "") -> Set<JobID.Packed> {
        var out = Set<JobID.Packed>()
        let tail = Array(suffix.utf8)
        try? Sys.forEachName(in: dir) { name in
            guard name.count == 20 + tail.count, hasSuffix(name, tail),
                  let k = JobID.Packed(UnsafeBufferPointer(rebasing: name[..<20])) else { return }
            out.insert(k)
        }
        return out
    }

    private static func hasSuffix(_ name: UnsafeBufferPointer<UInt8>, _ suffix: [UInt8]) -> Bool {
        guard name.count >= suffix.count else { return false }
        return suffix.isEmpty || memcmp(name.baseAddress! + (name.count - suffix.count), suffix, suffix.count) == 0
    }
}
