import CSpoolSys
import Glibc

/// One `exportctl-render JOBFILE TEMPFILE` process: its pid (and process
/// group) and the pipe its NDJSON events arrive on.
///
/// The child runs in its own process group so a cancel kills everything it
/// started; a crash or abort inside FFmpeg ends only the child.
public final class RenderChild {
    public enum Outcome: Sendable, Equatable {
        /// Exit 0 with a result event.
        case rendered(JSONValue)
        /// The child reported an error event (or exited non-zero).
        case failed(code: String, message: String, transient: Bool)
    }

    public let pid: pid_t
    /// Read end of the child's stdout (non-blocking).
    public let eventFD: Int32
    private var pending: [UInt8] = []
    private var lastEvent: JSONValue?
    private var exitStatus: Int32?
    public private(set) var eofSeen = false

    /// The render binary: `EXPORTCTL_RENDERER`, else `exportctl-render` beside
    /// this executable, else `../libexec/exportctl/exportctl-render`.
    public static func rendererPath() -> String {
        if let e = getenv("EXPORTCTL_RENDERER"), e.pointee != 0 { return String(cString: e) }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let dir = PathRules.directory(of: exe)
        let beside = dir + "/exportctl-render"
        if access(beside, X_OK) == 0 { return beside }
        return PathRules.absolute("../libexec/exportctl/exportctl-render", base: dir)
    }

    /// Starts the renderer on `jobFile`, writing to `tempOutput`, under `limits` (nil: as inherited).
    public convenience init(jobFile: String, tempOutput: String, renderer: String = RenderChild.rendererPath(),
                            limits: RenderLimits? = nil, roots: PathRoots = PathRoots(), deadline: Double? = nil,
                            runAs: uid_t? = nil) throws(SystemError) {
        try self.init(arguments: [jobFile, tempOutput], renderer: renderer, limits: limits, roots: roots, deadline: deadline, runAs: runAs)
    }

    /// The environment variable naming the uid the child renders as (a shared spool's job owner).
    public static let runAsEnvironment = "EXPORTCTL_RUN_AS"

    /// The environment variable that carries the render's deadline: seconds of CLOCK_MONOTONIC.
    public static let deadlineEnvironment = "EXPORTCTL_DEADLINE"

    /// Starts the renderer with `arguments` (`JOBFILE TEMPFILE`, or `--check JOBFILE`).
    /// - Parameter limits: passed in `EXPORTCTL_RENDER_LIMITS`, which the child applies to itself.
    /// - Parameter roots: passed in `EXPORTCTL_ROOTS`; the child opens every input and output beneath them.
    /// - Parameter deadline: passed in `EXPORTCTL_DEADLINE` (CLOCK_MONOTONIC seconds); the child stops itself then.
    public init(arguments: [String], renderer: String = RenderChild.rendererPath(), limits: RenderLimits? = nil,
                roots: PathRoots = PathRoots(), deadline: Double? = nil, runAs: uid_t? = nil) throws(SystemError) {
        var fds: [Int32] = [0, 0]
        if pipe2(&fds, O_CLOEXEC) != 0 { throw SystemError("pipe2") }
        let args = [renderer] + arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var p: pid_t = 0
        ParentWatch.exportParentPID()
        // This process's environment, with the limits replacing any inherited ones.
        var env: [UnsafeMutablePointer<CChar>?] = []
        var e = environ
        while let entry = e.pointee {
            let text = String(cString: entry)
            let ours = [RenderLimits.environmentName, PathRoots.environmentName, RenderChild.deadlineEnvironment, RenderChild.runAsEnvironment].contains { text.hasPrefix($0 + "=") }
            if !ours { env.append(strdup(entry)) }
            e += 1
        }
        if let limits { env.append(strdup(RenderLimits.environmentName + "=" + limits.environmentValue)) }
        if roots != PathRoots() { env.append(strdup(PathRoots.environmentName + "=" + roots.environmentValue)) }
        if let deadline { env.append(strdup(RenderChild.deadlineEnvironment + "=" + String(deadline))) }
        if let runAs { env.append(strdup(RenderChild.runAsEnvironment + "=" + String(runAs))) }
        env.append(nil)
        defer { for v in env { free(v) } }
        let rc = cspoolsys_spawn(&p, renderer, &cargs, &env, fds[1], -1)
        Glibc.close(fds[1])
        if rc != 0 {
            Glibc.close(fds[0])
            throw SystemError("spawn", renderer, errno: rc)
        }
        pid = p
        eventFD = fds[0]
        _ = fcntl(eventFD, F_SETFL, fcntl(eventFD, F_GETFL) | O_NONBLOCK)
    }

    /// Reads what the child has written so far and returns the complete events.
    public func readEvents() -> [JSONValue] {
        var out: [JSONValue] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { b in Sys.retry { Glibc.read(eventFD, b.baseAddress!, b.count) } }
            if n == 0 { eofSeen = true; break }
            if n < 0 { break }
            pending += buf[0..<n]
            if pending.count > 1 << 20 { pending.removeAll() }  // a child gone mad; its exit decides
        }
        while let nl = pending.firstIndex(of: 0x0a) {
            let line = Array(pending[..<nl])
            pending.removeFirst(nl + 1)
            if let v = try? JSONParser.parse(line), v["event"] != nil {
                out.append(v)
                lastEvent = v
            }
        }
        return out
    }

    /// Signals the child's whole process group.
    public func kill(_ signal: Int32) {
        _ = Glibc.kill(-pid, signal)
        _ = Glibc.kill(pid, signal)
    }

    /// Reaps the child if it has exited (non-blocking); returns whether it has.
    public func reap(blocking: Bool = false) -> Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        let r = Sys.retry { waitpid(pid, &status, blocking ? 0 : WNOHANG) }
        if r == pid { exitStatus = status; return true }
        if r < 0 && errno == ECHILD { exitStatus = 0; return true }
        return false
    }

    /// The last event read (a `result`, `check` or `error` line once the child is done).
    public var finalEvent: JSONValue? { lastEvent }

    /// The child's exit code once reaped (128 + signal when killed).
    public var exitCode: Int32? {
        exitStatus.map { cspoolsys_wifsignaled($0) != 0 ? 128 + cspoolsys_wtermsig($0) : cspoolsys_wexitstatus($0) }
    }

    /// What the render came to, once reaped and its pipe drained.
    public func outcome() -> Outcome {
        _ = readEvents()
        let status = exitStatus ?? 0
        if cspoolsys_wifsignaled(status) != 0 {
            let sig = cspoolsys_wtermsig(status)
            let name = RenderChild.signalName(sig)
            // Killed from outside (the OOM killer, an operator, systemd stopping
            // the service): worth another try. A crash from within (SIGABRT from
            // an FFmpeg assertion, SIGSEGV) will happen again.
            let external = [SIGKILL, SIGTERM, SIGINT, SIGHUP].contains(sig)
            return .failed(code: "render-crashed", message: "the render process was killed by \(name)" +
                (external ? "" : "; the input is probably corrupt"), transient: external)
        }
        let code = cspoolsys_wexitstatus(status)
        if code == 0, let e = lastEvent, e["event"]?.stringValue == "result" { return .rendered(e) }
        if let e = lastEvent, e["event"]?.stringValue == "error" {
            return .failed(code: e["code"]?.stringValue ?? "render-failed",
                           message: e["message"]?.stringValue ?? "render failed",
                           transient: e["transient"]?.boolValue ?? (code == 75))
        }
        return .failed(code: "render-failed", message: "the render process exited with status \(code) without a result", transient: code == 75)
    }

    static func signalName(_ s: Int32) -> String {
        switch s {
        case SIGKILL: return "SIGKILL"
        case SIGABRT: return "SIGABRT"
        case SIGSEGV: return "SIGSEGV"
        case SIGBUS: return "SIGBUS"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGXCPU: return "SIGXCPU"
        case SIGXFSZ: return "SIGXFSZ"
        case SIGFPE: return "SIGFPE"
        case SIGILL: return "SIGILL"
        default: return "signal \(s)"
        }
    }

    deinit { Glibc.close(eventFD) }
}
