/// The settings.json members for keeping a spool tidy and observable: how long
/// finished jobs and outputs are kept (`exportctl gc`), how often the daemon
/// sweeps, the node_exporter metrics file, and the fonts `exportctl health` checks.
public struct UpkeepSettings: Sendable, Equatable {
    /// Seconds a completed job's record (job file and status record) is kept; nil: forever.
    public var keepCompletedFor: Double? = 7 * 86400
    /// Seconds a failed or cancelled job's record is kept; nil: forever.
    public var keepFailedFor: Double? = 30 * 86400
    /// Seconds a completed job's output is kept; nil (the default): outputs are never removed.
    public var keepOutputFor: Double?
    /// Seconds between the daemon's sweeps; nil: the daemon never sweeps by itself.
    public var gcInterval: Double? = 3600
    /// Absolute path of a Prometheus text file the daemon keeps up to date; nil: none.
    public var metricsFile: String?
    /// Seconds between rewrites of `metricsFile` (it is also rewritten when a job ends).
    public var metricsIntervalSeconds: Double = 15
    /// Font families the spool's jobs rely on, checked by `exportctl health` (besides the default font).
    public var fonts: [String] = []

    public init() {}

    static let fields: Set<String> = ["keepCompletedFor", "keepFailedFor", "keepOutputFor", "gcInterval", "metricsFile",
                                      "metricsIntervalSeconds", "fonts"]

    mutating func parse(_ k: String, _ v: JSONValue, name: String) throws(JobError) {
        func span(minimum: Double = 0) throws(JobError) -> Double? {
            if case .null = v { return nil }
            guard let s = TimeSpan.seconds(v), s >= minimum else {
                throw JobError(file: name, field: k, message: "expected a length of time such as \"7d\", \"36h\" or \"90m\", a number of seconds\(minimum > 0 ? " ≥ \(Int(minimum))" : ""), or null")
            }
            return s
        }
        switch k {
        case "keepCompletedFor": keepCompletedFor = try span()
        case "keepFailedFor": keepFailedFor = try span()
        case "keepOutputFor": keepOutputFor = try span()
        case "gcInterval": gcInterval = try span(minimum: 1)
        case "metricsFile":
            if case .null = v { metricsFile = nil; return }
            guard let p = v.stringValue, p.hasPrefix("/"), !p.hasSuffix("/"), !p.utf8.contains(0), !p.contains("\n") else {
                throw JobError(file: name, field: k, message: "expected an absolute file path such as \"/var/lib/prometheus/node-exporter/exportctl.prom\", or null")
            }
            metricsFile = p
        case "metricsIntervalSeconds":
            guard let d = v.doubleValue, d >= 1 else { throw JobError(file: name, field: k, message: "expected a number of seconds ≥ 1") }
            metricsIntervalSeconds = d
        case "fonts":
            guard case let .array(items) = v else { throw JobError(file: name, field: k, message: "expected an array of font family names such as [\"DejaVu Sans\"]") }
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard let f = item.stringValue, !f.isEmpty, !f.contains("\n") else {
                    throw JobError(file: name, field: "\(k)[\(i)]", message: "expected a font family name such as \"DejaVu Sans\"")
                }
                out.append(f)
            }
            fonts = out
        default: break
        }
    }
}
