import CSpoolSys
import Glibc

/// Renders one job in the foreground with no spool (`exportctl render`):
/// the same render child, verification and atomic publish as the daemon.
public final class ForegroundRender {
    public let job: Job
    public let renderer: String
    /// Whether the render process runs the submit-time media check first (`--check-first`).
    public let checkFirst: Bool
    /// With `checkFirst`, the check's `error` event when the check refused the job.
    public private(set) var checkError: JSONValue?

    public init(job: Job, renderer: String = RenderChild.rendererPath(), checkFirst: Bool = false) {
        self.job = job
        self.renderer = renderer
        self.checkFirst = checkFirst
    }

    /// Runs the render; `onProgress` gets (progress 0…1, stage).
    /// SIGINT/SIGTERM stop the child and remove its temp output.
    public func run(onProgress: (Double, String) -> Void) throws(SystemError) -> RenderChild.Outcome {
        var job = self.job
        let id = JobID.make()
        job.id = id
        job.submittedAt = Clock.now()
        job.user = nil
        let tmpdir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let jobFile = tmpdir + "/exportctl-job-" + id.rawValue + ".json"
        let fd = try Sys.open(jobFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        defer { try? Sys.unlink(jobFile) }
        do { try Sys.writeAll(fd, Array(job.storedJSON().jsonText().utf8), path: jobFile) } catch { Glibc.close(fd); throw error }
        try Sys.close(fd, path: jobFile)

        var signals: [Int32] = [SIGINT, SIGTERM, SIGCHLD]
        var oldMask = sigset_t()
        let sigfd = cspoolsys_signalfd_for(&signals, Int32(signals.count), &oldMask)
        if sigfd < 0 { throw SystemError("signalfd") }
        defer { Glibc.close(sigfd); sigprocmask(SIG_SETMASK, &oldMask, nil) }

        let temp = Spool.tempOutputPath(for: job, id: id)
        let child = try RenderChild(arguments: (checkFirst ? ["--check-first"] : []) + [jobFile, temp], renderer: renderer)
        var interrupted = false
        while !child.reap() {
            var fds = [pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: child.eventFD, events: Int16(child.eofSeen ? 0 : POLLIN), revents: 0)]
            _ = poll(&fds, 2, 500)
            if fds[0].revents != 0 {
                var info = signalfd_siginfo()
                while Glibc.read(sigfd, &info, MemoryLayout<signalfd_siginfo>.size) > 0 {
                    if Int32(info.ssi_signo) != SIGCHLD { interrupted = true; child.kill(SIGKILL) }
                }
            }
            for e in child.readEvents() where e["event"]?.stringValue == "progress" {
                onProgress(e["progress"]?.doubleValue ?? 0, e["stage"]?.stringValue ?? "")
            }
        }
        if interrupted {
            _ = child.reap(blocking: true)
            try? Sys.removeOutput(temp)
            return .failed(code: "cancelled", message: "interrupted", transient: false)
        }
        let outcome = child.outcome()
        if checkFirst, let e = child.finalEvent, e["event"]?.stringValue == "error", e["stage"]?.stringValue == "check" { checkError = e }
        guard case .rendered = outcome else { try? Sys.removeOutput(temp); return outcome }
        do {
            try Publisher.publish(temp: temp, to: job.output, overwrite: job.overwrite)
        } catch {
            try? Sys.removeOutput(temp)
            switch error {
            case let .exists(p): return .failed(code: "output-exists", message: "'\(p)' appeared while rendering; set \"overwrite\": true to replace it", transient: false)
            case let .system(e): return .failed(code: "io", message: "cannot publish the output: \(e)", transient: e.isTransient)
            case let .notOwner(p): return .failed(code: "output-exists", message: "'\(p)' belongs to another user", transient: false)
            }
        }
        return outcome
    }
}
