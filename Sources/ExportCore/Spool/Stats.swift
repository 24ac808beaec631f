/// Figures drawn from the analytics log for `exportctl stats`.
public struct Stats: Sendable {
    public struct Count: Sendable, Equatable {
        public var kind: String
        public var outcome: String
        public var jobs: Int
    }

    public var total: Int
    public var counts: [Count]
    public var uniqueUsers: Int
    public var mediaSeconds: Double
    public var renderSecondsMedian: Double?
    public var renderSecondsP95: Double?
    public var outputBytes: Int64

    /// Summarises entries (already one per job id).
    public init(entries: [AnalyticsLog.Entry]) {
        total = entries.count
        var byKey: [String: Count] = [:]
        for e in entries {
            byKey["\(e.kind)\u{0}\(e.outcome)", default: Count(kind: e.kind, outcome: e.outcome, jobs: 0)].jobs += 1
        }
        counts = byKey.values.sorted { ($0.kind, $0.outcome) < ($1.kind, $1.outcome) }
        uniqueUsers = Set(entries.compactMap(\.userHash)).count
        let done = entries.filter { $0.outcome == "completed" }
        mediaSeconds = done.compactMap(\.mediaSeconds).reduce(0, +)
        outputBytes = done.compactMap(\.bytes).reduce(0, +)
        let times = done.compactMap(\.renderSeconds).sorted()
        renderSecondsMedian = Stats.percentile(times, 0.5)
        renderSecondsP95 = Stats.percentile(times, 0.95)
    }

    /// Nearest-rank percentile (the value at rank ceil(p·n)).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    /// The same figures per kind and per user (`StatsBreakdown.swift`); empty unless asked for.
    public var perKind: [(key: String, stats: Stats)] = []
    public var perUser: [(key: String, stats: Stats)] = []
    /// The start of the window the entries were taken from (`stats --since`).
    public var since: Double?

    public func json() -> JSONValue {
        func r(_ d: Double?) -> JSONValue? { d.map { .double(($0 * 1000).rounded() / 1000) } }
        var byKind: [(String, JSONValue)] = []
        for kind in Set(counts.map(\.kind)).sorted() {
            byKind.append((kind, .object(counts.filter { $0.kind == kind }.map { ($0.outcome, .int(Int64($0.jobs))) })))
        }
        var byOutcome: [String: Int] = [:]
        for c in counts { byOutcome[c.outcome, default: 0] += c.jobs }
        return .compactObject([
            ("total", .int(Int64(total))),
            ("byOutcome", .object(byOutcome.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            ("byKind", .object(byKind)),
            ("uniqueUsers", .int(Int64(uniqueUsers))),
            ("mediaSeconds", r(mediaSeconds)),
            ("outputBytes", .int(outputBytes)),
            ("renderSeconds", .compactObject([("median", r(renderSecondsMedian)), ("p95", r(renderSecondsP95))])),
        ] + breakdownPairs)
    }
}
