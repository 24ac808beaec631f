/// Settings of one spool, read from `SPOOL/settings.json` (all optional).
public struct SpoolSettings: Sendable, Equatable {
    /// Most jobs waiting at once; nil for no cap. `submit` refuses beyond it (exit 75).
    public var queueCap: Int?
    /// Most jobs one user may have queued or running at once; nil for no limit (`submit` exits 75 beyond it).
    public var maxQueuedPerUser: Int?
    /// Most renders one user may have in any 24 hours (finished, running and queued); nil for no limit.
    public var maxRendersPerUserPerDay: Int?
    /// How many times a job is started before a transient failure becomes final.
    public var maxAttempts: Int = 3
    /// Seconds between full rescans of the queue (inotify events are hints).
    public var rescanSeconds: Double = 60
    /// Delay before the first retry of a transient failure; it doubles with
    /// each attempt, up to 15 minutes.
    public var retryBackoffSeconds: Double = 10
    /// Seconds a running render may take before it is stopped; nil for no limit.
    public var timeoutSeconds: Double?
    /// Resource limits of each render child (`setrlimit` in the child, before it reads anything).
    public var renderLimits = RenderLimits()
    /// Retention, the daemon's periodic sweep and the metrics file (`Retention`, `MetricsFile`).
    public var upkeep = UpkeepSettings()
    /// MiB that must stay free on an output's filesystem, beyond the job's
    /// estimated size, before the daemon starts the job (0: only the estimate).
    public var diskMarginMB = 100
    /// Hooks and webhooks (`notifications`).
    public var notifications = NotificationSettings()
    /// Folders job inputs and outputs must lie beneath (`inputRoots`, `outputRoots`); empty: anywhere.
    public var roots = PathRoots()
    /// A shared spool's group (a name or a number): its members submit through `drop/` (`SharedSpool`).
    public var sharedGroup: String?

    public init() {}

    static let fields = Set<String>(["queueCap", "maxAttempts", "rescanSeconds", "timeoutSeconds", "retryBackoffSeconds", "renderLimits",
                                     "maxQueuedPerUser", "maxRendersPerUserPerDay", "diskMarginMB", "notifications", "inputRoots", "outputRoots", "sharedGroup"])
        .union(UpkeepSettings.fields)

    /// The delay before attempt `attempts + 1`, after `attempts` failed ones.
    public func backoff(afterAttempts attempts: Int) -> Double {
        min(SpoolSettings.maxBackoff, retryBackoffSeconds * Double(1 << min(20, max(0, attempts - 1))))
    }

    public static let maxBackoff: Double = 900

    /// Parses settings.json; unknown fields and bad values are errors that name them.
    public static func parse(_ bytes: [UInt8], name: String) throws(JobError) -> SpoolSettings {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch {
            throw JobError(file: name, line: error.line, column: error.column, message: error.message)
        }
        guard case let .object(members) = root else { throw JobError(file: name, message: "expected a JSON object") }
        var s = SpoolSettings()
        for (k, v) in members {
            guard fields.contains(k) else { throw JobError(file: name, field: k, message: "unknown setting; one of \(fields.sorted().joined(separator: ", "))") }
            switch k {
            case "queueCap":
                if case .null = v { s.queueCap = nil; continue }
                guard let i = v.intValue, i >= 1 else { throw JobError(file: name, field: k, message: "expected a whole number ≥ 1 or null") }
                s.queueCap = Int(i)
            case "maxQueuedPerUser", "maxRendersPerUserPerDay":
                var limit: Int?
                if case .null = v { limit = nil } else {
                    guard let i = v.intValue, i >= 1 else { throw JobError(file: name, field: k, message: "expected a whole number ≥ 1 or null") }
                    limit = Int(i)
                }
                if k == "maxQueuedPerUser" { s.maxQueuedPerUser = limit } else { s.maxRendersPerUserPerDay = limit }
            case "maxAttempts":
                guard let i = v.intValue, (1...100).contains(i) else { throw JobError(file: name, field: k, message: "expected a whole number 1…100") }
                s.maxAttempts = Int(i)
            case "rescanSeconds":
                guard let d = v.doubleValue, d >= 1 else { throw JobError(file: name, field: k, message: "expected a number of seconds ≥ 1") }
                s.rescanSeconds = d
            case "retryBackoffSeconds":
                guard let d = v.doubleValue, d >= 0, d <= maxBackoff else { throw JobError(file: name, field: k, message: "expected a number of seconds 0…900") }
                s.retryBackoffSeconds = d
            case "timeoutSeconds":
                if case .null = v { s.timeoutSeconds = nil; continue }
                guard let d = v.doubleValue, d > 0 else { throw JobError(file: name, field: k, message: "expected a number of seconds > 0 or null") }
                s.timeoutSeconds = d
            case "renderLimits":
                s.renderLimits = try RenderLimits.parse(v, name: name)
            case _ where UpkeepSettings.fields.contains(k):
                try s.upkeep.parse(k, v, name: name)
            case "diskMarginMB":
                guard let i = v.intValue, i >= 0, i <= 1 << 30 else { throw JobError(file: name, field: k, message: "expected a whole number of MiB ≥ 0") }
                s.diskMarginMB = Int(i)
            case "notifications":
                s.notifications = try NotificationSettings.parse(v, name: name)
            case "inputRoots":
                s.roots.input = try PathRoots.parse(v, field: k, name: name)
            case "outputRoots":
                s.roots.output = try PathRoots.parse(v, field: k, name: name)
            case "sharedGroup":
                if case .null = v { s.sharedGroup = nil; continue }
                guard let g = v.stringValue ?? v.intValue.map({ String($0) }), !g.isEmpty else {
                    throw JobError(file: name, field: k, message: "expected a group name or number, or null")
                }
                s.sharedGroup = g
            default: break
            }
        }
        return s
    }
}
