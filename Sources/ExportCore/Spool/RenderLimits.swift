import Glibc

/// The resource limits a render child runs under: CPU seconds, the largest
/// file it may write, open files and address space. The daemon hands them to
/// the child in `EXPORTCTL_RENDER_LIMITS`; the child sets them on itself
/// (`setrlimit`) before it opens anything, so a hostile or broken input
/// cannot make one render eat the machine. `nil` leaves a limit as inherited.
public struct RenderLimits: Sendable, Equatable {
    /// CPU seconds (user + system) of one render; past it the render fails.
    public var cpuSeconds: Int?
    /// Largest file the render may write, in MiB (the output temp).
    public var fileSizeMB: Int? = 16384
    /// Open file descriptors.
    public var openFiles: Int? = 256
    /// Address space in MiB (the libraries are already mapped when it is set).
    public var memoryMB: Int? = 8192

    public init() {}

    static let fields = ["cpuSeconds", "fileSizeMB", "openFiles", "memoryMB"]

    /// The environment variable's value: `cpu=…,fsize=…,nofile=…,as=…` (bytes for sizes), only the limits set.
    public var environmentValue: String {
        var parts: [String] = []
        if let c = cpuSeconds { parts.append("cpu=\(c)") }
        if let f = fileSizeMB { parts.append("fsize=\(Int64(f) << 20)") }
        if let n = openFiles { parts.append("nofile=\(n)") }
        if let m = memoryMB { parts.append("as=\(Int64(m) << 20)") }
        return parts.joined(separator: ",")
    }

    public static let environmentName = "EXPORTCTL_RENDER_LIMITS"

    /// `settings.json`'s `renderLimits` object; each member a whole number or null (no limit).
    static func parse(_ v: JSONValue, name: String) throws(JobError) -> RenderLimits {
        guard case let .object(members) = v else {
            throw JobError(file: name, field: "renderLimits", message: "expected an object with \(fields.joined(separator: ", "))")
        }
        var l = RenderLimits()
        for (k, x) in members {
            guard fields.contains(k) else {
                throw JobError(file: name, field: "renderLimits.\(k)", message: "unknown limit; one of \(fields.joined(separator: ", "))")
            }
            var value: Int?
            if case .null = x { value = nil } else {
                let minimum: Int64 = k == "memoryMB" ? 512 : k == "openFiles" ? 32 : 1
                guard let i = x.intValue, i >= minimum, i <= 1 << 30 else {
                    throw JobError(file: name, field: "renderLimits.\(k)", message: "expected a whole number ≥ \(minimum), or null for no limit")
                }
                value = Int(i)
            }
            switch k {
            case "cpuSeconds": l.cpuSeconds = value
            case "fileSizeMB": l.fileSizeMB = value
            case "openFiles": l.openFiles = value
            default: l.memoryMB = value
            }
        }
        return l
    }

    /// Sets the limits named in `value` (an `environmentValue`) on this process. The
    /// hard CPU limit is 5 s above the soft one, so SIGXCPU comes first and the render can report it.
    /// - Returns: the CPU seconds set, if any.
    @discardableResult
    public static func apply(_ value: String) -> Int? {
        var cpu: Int?
        for part in value.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let n = UInt64(kv[1]) else { continue }
            var r = rlimit(rlim_cur: rlim_t(n), rlim_max: rlim_t(n))
            let resource: Int32
            switch kv[0] {
            case "cpu": resource = Int32(RLIMIT_CPU.rawValue); r.rlim_max = rlim_t(n + 5); cpu = Int(n)
            case "fsize": resource = Int32(RLIMIT_FSIZE.rawValue)
            case "nofile": resource = Int32(RLIMIT_NOFILE.rawValue)
            case "as": resource = Int32(RLIMIT_AS.rawValue)
            default: continue
            }
            // Never raise what was inherited.
            var old = rlimit()
            if getrlimit(__rlimit_resource_t(UInt32(resource)), &old) == 0, old.rlim_max != rlim_t.max {
                r.rlim_cur = min(r.rlim_cur, old.rlim_max)
                r.rlim_max = min(r.rlim_max, old.rlim_max)
            }
            _ = setrlimit(__rlimit_resource_t(UInt32(resource)), &r)
        }
        return cpu
    }
}
