/// `exportctl stats --since`, and the figures per kind and per user.
extension Stats {
    /// The key of entries without a user in `byUser`.
    public static let noUser = "none"

    /// Summarises the entries that finished at or after `since` (all when nil),
    /// with the same figures per kind and per user hash.
    public init(entries: [AnalyticsLog.Entry], since: Double?, breakdowns: Bool) {
        let window = since.map { s in entries.filter { $0.time >= s } } ?? entries
        self.init(entries: window)
        self.since = since
        guard breakdowns else { return }
        var byKind: [String: [AnalyticsLog.Entry]] = [:], byUser: [String: [AnalyticsLog.Entry]] = [:]
        for e in window {
            byKind[e.kind, default: []].append(e)
            byUser[e.userHash ?? Stats.noUser, default: []].append(e)
        }
        perKind = byKind.sorted { $0.key < $1.key }.map { ($0.key, Stats(entries: $0.value)) }
        // Busiest users first.
        perUser = byUser.map { ($0.key, Stats(entries: $0.value)) }.sorted { ($1.stats.total, $0.key) < ($0.stats.total, $1.key) }
    }

    /// One group's figures: jobs, outcomes, media seconds, bytes, render times.
    func groupJSON(withKinds: Bool) -> JSONValue {
        guard case let .object(all) = json() else { return json() }
        let keep: Set<String> = withKinds ? ["total", "byOutcome", "byKind", "mediaSeconds", "outputBytes", "renderSeconds"]
            : ["total", "byOutcome", "uniqueUsers", "mediaSeconds", "outputBytes", "renderSeconds"]
        return .object(all.filter { keep.contains($0.0) })
    }

    var breakdownPairs: [(String, JSONValue?)] {
        [
            ("since", since.map { .string(Clock.iso8601($0)) }),
            ("perKind", perKind.isEmpty && perUser.isEmpty ? nil : .object(perKind.map { ($0.key, $0.stats.groupJSON(withKinds: false)) })),
            ("byUser", perKind.isEmpty && perUser.isEmpty ? nil : .object(perUser.map { ($0.key, $0.stats.groupJSON(withKinds: true)) })),
        ]
    }
}
