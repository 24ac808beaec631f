import CFFmpeg
import ExportCore
import ExportRender
import Glibc

/// `exportctl-render JOBFILE TEMPFILE`: renders one stored job into TEMPFILE.
/// With `--check-first` before them (`exportctl render`), the submit-time media
/// check runs first in the same process, so FFmpeg is loaded once, not twice.
///
/// The daemon and `exportctl render` spawn it once per job, so FFmpeg (and
/// anything an input does to it) lives and dies in this process. Contract:
/// NDJSON events on stdout (progress…, then one `result` or `error` line);
/// FFmpeg's errors on stderr, prefixed by the job id; exit 0 rendered,
/// 65 invalid job file, 1 permanent failure, 75 transient failure (disk full,
/// I/O error, SIGTERM); 64 for a wrong command line. On failure TEMPFILE is
/// removed if this process created it; on success the caller publishes it.
@main
enum EntryPoint {
    static func main() {
        // Die with the daemon, even a SIGKILLed one; gone already: nobody to report to.
        guard ParentWatch.dieWithParent() else { exit(75) }
        // The spool's limits, before anything is opened or allocated.
        var cpuLimit: Int?
        if let l = getenv(RenderLimits.environmentName) { cpuLimit = RenderLimits.apply(String(cString: l)) }
        // The spool's roots: every input and the temp output are opened beneath them.
        if let r = getenv(PathRoots.environmentName) {
            guard let roots = PathRoots(environmentValue: String(cString: r)) else {
                EventWriter().error(.invalidJob("\(PathRoots.environmentName) cannot be read: \(String(cString: r))"))
                exit(65)
            }
            Confinement.confine(to: roots)
        }
        // A shared spool's job: become its owner first (which clears the parent-death signal: set it again).
        if let r = getenv(RenderChild.runAsEnvironment), let uid = UInt32(String(cString: r)) {
            if let problem = RunAs.become(uid_t(uid)) {
                EventWriter().error(.internal("cannot render as the job's owner: \(problem)"))
                exit(1)
            }
            guard ParentWatch.dieWithParent() else { exit(75) }
        }
        Cancellation.installSignalHandlers()
        // The job's deadline (its timeout), on the system-wide monotonic clock.
        if let d = getenv(RenderChild.deadlineEnvironment), let t = Double(String(cString: d)) { Cancellation.setDeadline(monotonic: t) }
        signal(SIGPIPE, SIG_IGN)  // a vanished reader shows up as EPIPE (see EventWriter)
        signal(SIGXFSZ, SIG_IGN)  // a file size limit shows up as EFBIG: an io error, temp removed

        var args = CommandLine.arguments
        let events = EventWriter()
        var checkFirst = false
        if args.count == 4, args[1] == "--check-first" {
            checkFirst = true
            args.remove(at: 1)
        }
        if args.count == 3, args[1] == "--check" { check(args[2], events: events) }
        if args.count == 2, args[1] == "--version" {
            // What `submit --dedupe` keys the work on: this program and the FFmpeg it loaded.
            let ffmpeg = String(cString: av_version_info())
            let v = avcodec_version()
            events.write(.object([("event", .string("version")),
                                  ("version", .string("exportctl-render \(ExportVersion.string) (FFmpeg \(ffmpeg), libavcodec \(v >> 16).\((v >> 8) & 0xff).\(v & 0xff))"))]))
            exit(0)
        }
        if args.count >= 2, args[1] == "--check-system" {
            // For `exportctl health`: the encoders, muxers and fonts renders need (SystemCheck).
            events.write(SystemCheck.event(fonts: Array(args.dropFirst(2))))
            exit(0)
        }
        guard args.count == 3 else {
            Sys.print("usage: exportctl-render [--check-first] JOBFILE TEMPFILE\n       exportctl-render --check JOBFILE\n       exportctl-render --check-system [FONT...]\n       exportctl-render --version\n  JOBFILE  a stored job (JSON), or - for stdin\n  TEMPFILE  the output file to create (must not exist)\n", fd: 2)
            exit(64)
        }
        var outcome: Result<RenderResult, RenderError>
        switch StoredJobFile.load(args[1]) {
        case let .failure(e):
            outcome = .failure(e)
        case let .success(job):
            if checkFirst, !checkMedia(job, events: events) { exit(65) }
            FFmpegLog.install(prefix: job.id.map { "\($0): " } ?? "")
            switch job.kind {
            case .mp4:
                let pipeline = MP4Pipeline(job: job, tempPath: args[2]) { events.progress($0, stage: $1) }
                outcome = Result { () throws(RenderError) in try pipeline.run() }
            case .mp3:
                let pipeline = MP3Pipeline(job: job, tempPath: args[2]) { events.progress($0, stage: $1) }
                outcome = Result { () throws(RenderError) in try pipeline.run() }
            case .carousel:
                let pipeline = CarouselPipeline(job: job, tempPath: args[2]) { events.progress($0, stage: $1) }
                outcome = Result { () throws(RenderError) in try pipeline.run() }
            }
        }
        if case .failure(.cancelled) = outcome, Cancellation.deadlineReached, !Cancellation.cpuLimitReached {
            outcome = .failure(.timedOut("the render reached its deadline (\(RenderChild.deadlineEnvironment)) and stopped itself"))
        }
        if case .failure(.cancelled) = outcome, Cancellation.cpuLimitReached {
            outcome = .failure(.limitExceeded("the render used more than \(cpuLimit ?? 0) s of CPU, the spool's renderLimits.cpuSeconds"))
        }
        switch outcome {
        case let .success(r):
            events.result(r)
            exit(0)
        case let .failure(e):
            events.error(e)
            exit(e.exitStatus)
        }
    }

    /// `--check JOBFILE`: the submit-time media rules (`JobCheck`); one `check`
    /// or `error` event (with the `field` to fix), exit 0 or 65.
    static func check(_ path: String, events: EventWriter) -> Never {
        switch StoredJobFile.load(path) {
        case let .failure(e):
            events.error(e)
            exit(e.exitStatus)
        case let .success(job):
            exit(checkMedia(job, events: events, report: true) ? 0 : 65)
        }
    }

    /// The media rules of `job`: true when they hold (with `report`, after a
    /// `check` event); else false after an `error` event with `"stage": "check"`
    /// and the field to fix.
    static func checkMedia(_ job: Job, events: EventWriter, report: Bool = false) -> Bool {
        let level = av_log_get_level()
        av_log_set_level(AV_LOG_QUIET)  // the answer is the event; FFmpeg's own lines would only repeat it
        defer { av_log_set_level(level) }
        do throws(JobCheck.Problem) {
            let length = try JobCheck(job: job).run()
            if report {
                events.write(.compactObject([("event", .string("check")), ("ok", .bool(true)),
                                             ("mediaSeconds", length.map { .double($0) })]))
            }
            return true
        } catch {
            events.write(.compactObject([
                ("event", .string("error")), ("code", .string(error.unreadable ? "input-unreadable" : "invalid-job")),
                ("stage", .string("check")), ("field", error.field.map { .string($0) }), ("message", .string(error.message)),
                ("transient", .bool(false)),
            ]))
            return false
        }
    }
}
