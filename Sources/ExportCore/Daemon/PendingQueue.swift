/// The daemon's view of the jobs in `queue/` that may start: first to start
/// first (higher priority, then lower id). A cache rebuilt by every rescan,
/// never the truth (a claim can still find a job gone).
struct PendingQueue {
    private var items: [(priority: Int, id: JobID)] = []
    private var head = 0
    private var members: [JobID: Int] = [:]

    var isEmpty: Bool { head >= items.count }
    var count: Int { items.count - head }

    func contains(_ id: JobID) -> Bool { members[id] != nil }

    /// Adds `id` at its place; a job already there with another priority moves.
    mutating func insert(_ id: JobID, priority: Int) {
        if let p = members[id] {
            if p == priority { return }
            remove(id)
        }
        members[id] = priority
        let key = (priority, id)
        if items.count == head || QueueSnapshot.startsBefore((items[items.count - 1].priority, items[items.count - 1].id), key) {
            items.append((priority, id))
            return
        }
        items.insert((priority, id), at: lowerBound(key))
    }

    mutating func remove(_ id: JobID) {
        guard let p = members.removeValue(forKey: id) else { return }
        let i = lowerBound((p, id))
        if i < items.count, items[i].id == id { items.remove(at: i) }
    }

    mutating func popFirst() -> JobID? {
        guard head < items.count else { return nil }
        let id = items[head].id
        head += 1
        members[id] = nil
        if head > 4096 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return id
    }

    mutating func replace(with jobs: [(JobID, Int)]) {
        items = jobs.map { (priority: $0.1, id: $0.0) }.sorted { QueueSnapshot.startsBefore(($0.priority, $0.id), ($1.priority, $1.id)) }
        head = 0
        members = Dictionary(jobs, uniquingKeysWith: { a, _ in a })
    }

    /// The first index at or after `head` whose item does not start before `key`.
    private func lowerBound(_ key: (Int, JobID)) -> Int {
        var lo = head, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if QueueSnapshot.startsBefore((items[mid].priority, items[mid].id), key) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
