/// One line of `SPOOL/events.jsonl` and of `exportctl wait --follow` /
/// `exportctl events`: a job's state, stage or whole-percent progress changed.
public struct JobEvent: Sendable, Equatable {
    public var time: Double
    public var record: StatusSidecar

    public init(time: Double = Clock.now(), record: StatusSidecar) {
        self.time = time
        self.record = record
    }

    /// Whether going from `old` to `new` is worth a line: a new state, stage,
    /// attempt or error, or progress that crossed a whole percent.
    public static func differs(_ old: StatusSidecar?, _ new: StatusSidecar) -> Bool {
        guard let old else { return true }
        return old.state != new.state || old.stage != new.stage || old.attempts != new.attempts
            || old.error != new.error || percent(old.progress) != percent(new.progress)
    }

    static func percent(_ p: Double) -> Int { Int((p * 100).rounded(.down)) }

    public func json() -> JSONValue {
        let r = record
        return .compactObject([
            ("time", .string(Clock.iso8601(time))),
            ("id", .string(r.id.rawValue)),
            ("kind", .string(r.kind.rawValue)),
            ("state", .string(r.state.rawValue)),
            ("progress", .double((r.progress * 100).rounded(.down) / 100)),
            ("stage", r.stage.map { .string($0) }),
            ("attempts", .int(Int64(r.attempts))),
            ("position", r.position.map { .int(Int64($0)) }),
            ("output", .string(r.output.path)),
            ("bytes", r.state == .completed ? r.output.bytes.map { .int($0) } : nil),
            ("nextAttemptAt", r.nextAttemptAt.map { .string(Clock.iso8601($0)) }),
            ("error", r.error.map { .object([("code", .string($0.code)), ("message", .string($0.message))]) }),
        ])
    }

    /// Reads a line back; nil for a line that is not an event.
    public init?(json v: JSONValue) {
        guard let t = v["time"]?.stringValue.flatMap(Clock.parseISO8601),
              let ids = v["id"]?.stringValue, let id = JobID(ids),
              let k = v["kind"]?.stringValue, let kind = JobKind(rawValue: k),
              let s = v["state"]?.stringValue, let state = JobState(rawValue: s) else { return nil }
        var r = StatusSidecar(queued: Job(kind: kind, input: "", output: v["output"]?.stringValue ?? ""), id: id)
        r.state = state
        r.progress = v["progress"]?.doubleValue ?? 0
        r.stage = v["stage"]?.stringValue
        r.attempts = Int(v["attempts"]?.intValue ?? 0)
        r.position = v["position"]?.intValue.map { Int($0) }
        r.output.bytes = v["bytes"]?.intValue
        r.nextAttemptAt = v["nextAttemptAt"]?.stringValue.flatMap(Clock.parseISO8601)
        if let e = v["error"], let c = e["code"]?.stringValue, let m = e["message"]?.stringValue { r.error = .init(code: c, message: m) }
        time = t
        record = r
    }
}
