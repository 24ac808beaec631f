import Glibc

/// The look at a job's media that needs FFmpeg or fontconfig, done at
/// submit by `exportctl-render --check` so that `exportctl` itself never
/// loads them: the audio or video is probed for its length (captions and
/// slide durations must fit in it after the trim), images for their
/// headers, and every font the job names is looked up.
///
/// Only kinds with such rules are checked (mp4); an mp3 job is accepted on
/// its fields alone, so submitting one stays a few milliseconds.
public enum MediaCheck {
    /// Whether `job` has rules that need its media read.
    public static func isNeeded(for job: Job) -> Bool { job.kind == .mp4 || job.kind == .carousel }

    /// Why the check could not run at all.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The problem an `error` event of the check reports, as the `JobError` that
    /// `submit` prints (naming the field; a missing input is `.missingInput`).
    /// Also what `exportctl render` makes of the error of `exportctl-render
    /// --check-first`, whose check runs in the render process.
    public static func problem(in e: JSONValue, name: String) -> JobError? {
        guard e["event"]?.stringValue == "error" else { return nil }
        let message = e["message"]?.stringValue ?? "invalid media"
        if e["code"]?.stringValue == "invalid-job" || e["field"] != nil {
            let missing = e["code"]?.stringValue == "input-unreadable"
            return JobError(file: name, field: e["field"]?.stringValue, message: message, category: missing ? .missingInput : .invalid)
        }
        return JobError(file: name, message: message)
    }

    /// Runs the check; a problem with the job is a `JobError` naming the field.
    /// - Parameter name: the job file as the user named it, for messages.
    /// Returns the seconds of media the job renders when the check measured them (an mp4).
    @discardableResult
    public static func run(_ job: Job, name: String, roots: PathRoots = PathRoots(), renderer: String = RenderChild.rendererPath()) throws -> Double? {
        var job = job
        job.user = nil
        let tmpdir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let jobFile = tmpdir + "/exportctl-check-" + JobID.make().rawValue + ".json"
        let fd = try Sys.open(jobFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        defer { try? Sys.unlink(jobFile) }
        do { try Sys.writeAll(fd, Array(job.storedJSON().jsonText().utf8), path: jobFile) } catch { Glibc.close(fd); throw error }
        try Sys.close(fd, path: jobFile)

        let child: RenderChild
        do { child = try RenderChild(arguments: ["--check", jobFile], renderer: renderer, roots: roots) } catch {
            throw Unavailable(message: "cannot check the media of \(name): cannot run '\(renderer)': \(error.errno == ENOENT ? "no such file" : error.message)")
        }
        while !child.reap() {
            var p = pollfd(fd: child.eventFD, events: Int16(child.eofSeen ? 0 : POLLIN), revents: 0)
            _ = poll(&p, 1, 200)
            _ = child.readEvents()
        }
        _ = child.readEvents()
        let event = child.finalEvent
        if child.exitCode == 0, event?["event"]?.stringValue == "check" { return event?["mediaSeconds"]?.doubleValue }
        if let e = event, let problem = problem(in: e, name: name) { throw problem }
        throw Unavailable(message: "cannot check the media of \(name): '\(renderer)' exited with status \(child.exitCode ?? -1) without an answer")
    }
}
