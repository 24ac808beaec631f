/// How often a job may start, how long it waits between tries and how long
/// one try may take: the job's own `attempts`, `backoff`, `timeout` and
/// `retryOnTimeout`, else the spool's `maxAttempts`, `retryBackoffSeconds`
/// and `timeoutSeconds`.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    /// Seconds before the first retry.
    public var backoff: Double
    /// Seconds one attempt may render; nil for no limit.
    public var timeout: Double?
    /// Where `timeout` comes from, for messages: "its timeout" or "the spool's timeoutSeconds".
    public var timeoutSource: String
    public var retryOnTimeout: Bool

    public init(job: Job, settings: SpoolSettings) {
        maxAttempts = job.schedule.attempts ?? settings.maxAttempts
        backoff = job.schedule.backoff ?? settings.retryBackoffSeconds
        timeout = job.schedule.timeout ?? settings.timeoutSeconds
        timeoutSource = job.schedule.timeout != nil ? "the job's timeout" : "the spool's timeoutSeconds"
        retryOnTimeout = job.schedule.retryOnTimeout
    }

    /// The delay before attempt `attempts + 1` without jitter: `backoff`,
    /// doubled after each further failed attempt, at most 900 s.
    public func nominalDelay(afterAttempts attempts: Int) -> Double {
        min(SpoolSettings.maxBackoff, backoff * Double(1 << min(20, max(0, attempts - 1))))
    }

    /// The delay actually waited: uniform between half the nominal delay and
    /// all of it ("equal jitter"), so jobs that failed together do not all
    /// come back at the same moment, yet each waits at least half as long.
    /// - Parameter random: a number in 0..<1.
    public func delay(afterAttempts attempts: Int, random: Double) -> Double {
        let d = nominalDelay(afterAttempts: attempts)
        return d / 2 + d / 2 * min(max(random, 0), 1)
    }

    /// A uniform random number in 0..<1 from getrandom(2).
    public static func random() -> Double {
        let b = Sys.randomBytes(8)
        let v = b.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 11
        return Double(v) / Double(UInt64(1) << 53)
    }
}
