/// The `notifications` member of `SPOOL/settings.json`: spool-wide hooks,
/// whether jobs may bring their own, and how webhooks are signed and retried.
public struct NotificationSettings: Sendable, Equatable {
    /// Hooks run for every job of the spool (before the job's own).
    public var hooks = Hooks()
    /// Whether a job may bring its own `hooks` (never run for a job file owned by
    /// another user); nil: yes, unless the spool confines paths (`runsJobHooks`).
    public var jobHooks: Bool?
    /// Seconds a hook may run before its process group is killed.
    public var hookTimeoutSeconds: Double = 30
    /// The HMAC-SHA256 key webhook bodies are signed with; required for `notify`.
    public var webhookSecret: String?
    /// Deliveries of one webhook before it moves to `dead-letter/`.
    public var webhookAttempts = 5
    /// Delay before the first redelivery; it doubles each time, up to an hour.
    public var webhookBackoffSeconds: Double = 10
    /// Seconds one delivery may take (connect, send, response headers).
    public var webhookTimeoutSeconds: Double = 10
    /// A PEM file of certificate authorities for https:// webhooks (default: the system's).
    public var webhookCAFile: String?

    public init() {}

    static let fields = ["hooks", "jobHooks", "hookTimeoutSeconds", "webhookSecret", "webhookAttempts",
                         "webhookBackoffSeconds", "webhookTimeoutSeconds", "webhookCAFile"]
    static let maxBackoff: Double = 3600

    /// The delay after `attempts` failed deliveries.
    public func backoff(afterAttempts attempts: Int) -> Double {
        min(NotificationSettings.maxBackoff, webhookBackoffSeconds * Double(1 << min(20, max(0, attempts - 1))))
    }

    static func parse(_ v: JSONValue, name: String) throws(JobError) -> NotificationSettings {
        guard case let .object(members) = v else { throw JobError(file: name, field: "notifications", message: "expected an object, got \(v.typeName)") }
        var s = NotificationSettings()
        for (k, value) in members {
            let f = "notifications." + k
            func seconds(_ range: ClosedRange<Double>) throws(JobError) -> Double {
                guard let d = value.doubleValue, range.contains(d) else {
                    throw JobError(file: name, field: f, message: "expected a number of seconds \(fmt(range.lowerBound))…\(fmt(range.upperBound))")
                }
                return d
            }
            switch k {
            case "hooks": s.hooks = try Hooks.parse(value, field: f, name: name, baseDirectory: nil)
            case "jobHooks":
                guard let b = value.boolValue else { throw JobError(file: name, field: f, message: "expected true or false") }
                s.jobHooks = b
            case "hookTimeoutSeconds": s.hookTimeoutSeconds = try seconds(0.1...3600)
            case "webhookSecret":
                guard let str = value.stringValue, str.utf8.count >= 16, str.utf8.count <= 1024 else {
                    throw JobError(file: name, field: f, message: "expected a string of 16 to 1024 bytes (e.g. the output of `openssl rand -hex 32`)")
                }
                s.webhookSecret = str
            case "webhookAttempts":
                guard let i = value.intValue, (1...100).contains(i) else { throw JobError(file: name, field: f, message: "expected a whole number 1…100") }
                s.webhookAttempts = Int(i)
            case "webhookBackoffSeconds": s.webhookBackoffSeconds = try seconds(0...maxBackoff)
            case "webhookTimeoutSeconds": s.webhookTimeoutSeconds = try seconds(0.1...300)
            case "webhookCAFile":
                guard let p = value.stringValue, p.hasPrefix("/"), PathRules.problem(with: p) == nil else {
                    throw JobError(file: name, field: f, message: "expected an absolute path to a PEM file")
                }
                s.webhookCAFile = p
            default:
                throw JobError(file: name, field: f, message: "unknown setting; one of \(fields.joined(separator: ", "))")
            }
        }
        return s
    }
}

extension SpoolSettings {
    /// Whether jobs' own hooks are accepted and run: `notifications.jobHooks`, which by
    /// default is true, and false on a spool with `inputRoots` or `outputRoots`,
    /// where a job's command would reach past the roots the operator set.
    public var runsJobHooks: Bool { notifications.jobHooks ?? (roots.input.isEmpty && roots.output.isEmpty) }

    /// Why `jobs` cannot be accepted by this spool: a webhook with no secret to sign it
    /// (exit 78), or hooks on a spool that does not run jobs' own (exit 65).
    func notificationProblem(with jobs: [Job], settingsPath: String) -> SpoolError? {
        if notifications.webhookSecret == nil, jobs.contains(where: { $0.notify != nil }) {
            return .settings(JobError(file: settingsPath, field: "notifications.webhookSecret",
                                      message: "missing; a job asks for a webhook (\"notify\") and its deliveries are signed with this secret"))
        }
        if !runsJobHooks, jobs.contains(where: { !$0.hooks.isEmpty }) {
            let why = notifications.jobHooks == false ? "false" : "false by default when inputRoots or outputRoots is set"
            return .refused([JobError(file: settingsPath, field: "notifications.jobHooks",
                                      message: "is \(why), so a job may not bring its own \"hooks\"; remove them from the job, or set it to true")])
        }
        return nil
    }
}
