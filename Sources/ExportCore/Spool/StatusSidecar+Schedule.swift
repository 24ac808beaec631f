extension StatusSidecar {
    /// One attempt that did not complete: which, how it ended, and when.
    public struct Attempt: Sendable, Equatable {
        /// 1 for the job's first start, counting every start across `exportctl retry`.
        public var attempt: Int
        public var code: String
        public var message: String
        /// When the attempt ended (seconds since the epoch).
        public var at: Double

        public init(attempt: Int, code: String, message: String, at: Double) {
            self.attempt = attempt; self.code = code; self.message = message; self.at = at
        }
    }

    /// The history keeps the latest attempts only, so a record stays small.
    public static let maxHistory = 100

    /// The attempt in hand counted over the job's whole life (what the
    /// analytics log and the history call an attempt).
    public var overallAttempt: Int { earlierAttempts + attempts }

    /// Adds the attempt in hand to the history, ended by `code` and `message`.
    public mutating func recordAttempt(code: String, message: String, at: Double = Clock.now()) {
        history.append(Attempt(attempt: max(1, overallAttempt), code: code, message: message, at: at))
        if history.count > StatusSidecar.maxHistory { history.removeFirst(history.count - StatusSidecar.maxHistory) }
    }

    var schedulePairs: [(String, JSONValue?)] {
        [
            ("priority", .int(Int64(priority))),
            ("notBefore", notBefore.map { .string(Clock.iso8601($0)) }),
            ("deferredReason", deferredReason.map { .string($0) }),
            ("retried", retried > 0 ? .int(Int64(retried)) : nil),
            ("earlierAttempts", earlierAttempts > 0 ? .int(Int64(earlierAttempts)) : nil),
            ("history", history.isEmpty ? nil : .array(history.map { a in
                .object([("attempt", .int(Int64(a.attempt))), ("code", .string(a.code)),
                         ("message", .string(a.message)), ("at", .string(Clock.iso8601(a.at)))])
            })),
        ]
    }

    mutating func readSchedule(_ v: JSONValue) {
        priority = Int(v["priority"]?.intValue ?? 0)
        notBefore = v["notBefore"]?.stringValue.flatMap(Clock.parseISO8601)
        deferredReason = v["deferredReason"]?.stringValue
        retried = Int(v["retried"]?.intValue ?? 0)
        earlierAttempts = Int(v["earlierAttempts"]?.intValue ?? 0)
        if case let .array(items)? = v["history"] {
            history = items.compactMap { e in
                guard let n = e["attempt"]?.intValue, let c = e["code"]?.stringValue, let m = e["message"]?.stringValue else { return nil }
                return Attempt(attempt: Int(n), code: c, message: m, at: e["at"]?.stringValue.flatMap(Clock.parseISO8601) ?? 0)
            }
        }
    }
}
