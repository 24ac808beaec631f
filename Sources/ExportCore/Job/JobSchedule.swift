/// When and how often a job may run: its retry policy, its deadline, its
/// place in the queue and the earliest time it may start.
///
/// Every member is optional in the job file; nil means the spool's default
/// (`maxAttempts`, `retryBackoffSeconds`, `timeoutSeconds` in settings.json).
public struct JobSchedule: Sendable, Equatable {
    /// Starts allowed before a transient failure becomes final.
    public var attempts: Int?
    /// Seconds before the first retry; doubled after each further failure.
    public var backoff: Double?
    /// Seconds one attempt may render before it is stopped.
    public var timeout: Double?
    /// Whether a timeout counts as a transient failure (retried) rather than a permanent one.
    public var retryOnTimeout = false
    /// Higher starts first; FIFO by id within one priority.
    public var priority = 0
    /// The job does not start before this time (seconds since the epoch).
    public var notBefore: Double?

    public init() {}

    public static let priorityRange = -1000...1000
    public static let attemptsRange = 1...100
    public static let maxBackoff: Double = 900
    public static let maxTimeout: Double = 7 * 86_400

    /// Members of the stored job file (defaults left out).
    var storedPairs: [(String, JSONValue?)] {
        [
            ("attempts", attempts.map { .int(Int64($0)) }),
            ("backoff", backoff.map { .double($0) }),
            ("timeout", timeout.map { .double($0) }),
            ("retryOnTimeout", retryOnTimeout ? .bool(true) : nil),
            ("priority", priority != 0 ? .int(Int64(priority)) : nil),
            ("notBefore", notBefore.map { .string(Clock.iso8601($0)) }),
        ]
    }
}
