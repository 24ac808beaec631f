/// One notification waiting in `SPOOL/outbox/`: a hook to run or a webhook
/// to post, with the final status record it carries.
public struct OutboxEntry: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        /// A hook; `spoolWide` when it came from settings.json rather than the job.
        case hook(argv: [String], spoolWide: Bool)
        case webhook(url: String)
    }

    /// `JOBID.STATE.ATTEMPT.TARGET`: the file's name without `.json`, and the
    /// `X-Exportctl-Delivery` header. The same notification has the same id
    /// when it is delivered again after a crash; ATTEMPT counts every attempt,
    /// those before an `exportctl retry` too, with `rN` after the Nth retry, so
    /// a job that ends again after a retry gets a new id.
    public var delivery: String
    public var target: Target
    /// The job's final status record: the hook's stdin, the webhook's body.
    public var record: StatusSidecar
    public var createdAt: Double
    /// Deliveries tried so far (webhooks).
    public var attempts = 0
    public var nextAttemptAt: Double?
    public var lastError: String?

    public init(record: StatusSidecar, target: Target, now: Double = Clock.now()) {
        self.record = record
        self.target = target
        createdAt = now
        let name: String
        switch target {
        case let .hook(_, spoolWide): name = spoolWide ? "spool-hook" : "job-hook"
        case .webhook: name = "webhook"
        }
        let attempt = "\(max(1, record.overallAttempt))" + (record.retried > 0 ? "r\(record.retried)" : "")
        delivery = "\(record.id).\(record.state.rawValue).\(attempt).\(name)"
    }

    /// The exact bytes a hook reads and a webhook posts (and signs).
    public var body: [UInt8] { Array((record.json().jsonText() + "\n").utf8) }

    public func json() -> JSONValue {
        let t: [(String, JSONValue?)]
        switch target {
        case let .hook(argv, spoolWide):
            t = [("target", .string("hook")), ("from", .string(spoolWide ? "settings" : "job")), ("argv", .array(argv.map { .string($0) }))]
        case let .webhook(url):
            t = [("target", .string("webhook")), ("url", .string(url))]
        }
        return .compactObject([("delivery", .string(delivery))] + t + [
            ("createdAt", .string(Clock.iso8601(createdAt))),
            ("attempts", .int(Int64(attempts))),
            ("nextAttemptAt", nextAttemptAt.map { .string(Clock.iso8601($0)) }),
            ("lastError", lastError.map { .string($0) }),
            ("record", record.json()),
        ])
    }

    public init?(json v: JSONValue) {
        guard let d = v["delivery"]?.stringValue, let rv = v["record"], let r = StatusSidecar(json: rv) else { return nil }
        switch v["target"]?.stringValue {
        case "hook":
            guard case let .array(items)? = v["argv"] else { return nil }
            let argv = items.compactMap(\.stringValue)
            guard !argv.isEmpty, argv.count == items.count else { return nil }
            target = .hook(argv: argv, spoolWide: v["from"]?.stringValue == "settings")
        case "webhook":
            guard let u = v["url"]?.stringValue else { return nil }
            target = .webhook(url: u)
        default:
            return nil
        }
        delivery = d
        record = r
        createdAt = v["createdAt"]?.stringValue.flatMap(Clock.parseISO8601) ?? 0
        attempts = Int(v["attempts"]?.intValue ?? 0)
        nextAttemptAt = v["nextAttemptAt"]?.stringValue.flatMap(Clock.parseISO8601)
        lastError = v["lastError"]?.stringValue
    }
}
