/// The daemon's view of `queue/`, oldest id first: a cache rebuilt by every
/// rescan, never the truth (a claim can still find a job gone).
struct PendingQueue {
    private var items: [JobID] = []
    private var head = 0
    private var members: Set<JobID> = []

    var isEmpty: Bool { head >= items.count }
    var count: Int { items.count - head }

    mutating func insert(_ id: JobID) {
        guard members.insert(id).inserted else { return }
        if items.last.map({ $0 < id }) ?? true { items.append(id); return }
        var lo = head, hi = items.count
        while lo < hi { let mid = (lo + hi) / 2; if items[mid] < id { lo = mid + 1 } else { hi = mid } }
        items.insert(id, at: lo)
    }

    mutating func popFirst() -> JobID? {
        guard head < items.count else { return nil }
        let id = items[head]
        head += 1
        members.remove(id)
        if head > 4096 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return id
    }

    mutating func replace(with ids: [JobID]) {
        items = ids.sorted()
        head = 0
        members = Set(ids)
    }
}
