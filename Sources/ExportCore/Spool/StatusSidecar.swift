import Glibc

/// The status record of one job, `SPOOL/status/ID.json`, replaced whole at
/// every change (temp, fsync, rename, fsync of the directory).
///
/// A queued job has no sidecar yet: its record is made from the job file,
/// and its queue position is computed when read, never stored.
public struct StatusSidecar: Sendable, Equatable {
    public struct Output: Sendable, Equatable {
        public var path: String
        public var bytes: Int64?
        public var duration: Double?
        /// Slides of a carousel (which has no duration).
        public var slides: Int?
        public init(path: String, bytes: Int64? = nil, duration: Double? = nil, slides: Int? = nil) {
            self.path = path; self.bytes = bytes; self.duration = duration; self.slides = slides
        }
    }

    public struct Failure: Sendable, Equatable {
        public var code: String
        public var message: String
        public init(code: String, message: String) { self.code = code; self.message = message }
    }

    public var id: JobID
    public var kind: JobKind
    public var state: JobState
    public var position: Int?
    public var progress: Double
    public var stage: String?
    public var attempts: Int
    public var submittedAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    public var input: String
    public var output: Output
    public var mediaSeconds: Double?
    public var error: Failure?
    /// When a job waiting to retry may start again (seconds since the epoch).
    public var nextAttemptAt: Double?
    /// The priority the job is started by (its own, or one set by `exportctl priority`).
    public var priority: Int = 0
    /// The job's `notBefore` (seconds since the epoch).
    public var notBefore: Double?
    /// Why a deferred job may not start yet.
    public var deferredReason: String?
    /// Each attempt that did not complete, oldest first (at most `maxHistory`).
    public var history: [Attempt] = []
    /// Attempts made before the last `exportctl retry` (they do not count towards `attempts`).
    public var earlierAttempts: Int = 0
    /// How many times `exportctl retry` has put the job back in the queue.
    public var retried: Int = 0

    /// The record of a job that has not started yet.
    public init(queued job: Job, id: JobID) {
        self.id = id
        kind = job.kind
        state = .queued
        progress = 0
        stage = nil
        attempts = 0
        submittedAt = job.submittedAt ?? id.timestamp
        input = job.input
        output = Output(path: job.output)
        priority = job.schedule.priority
        notBefore = job.schedule.notBefore
    }

    public func json() -> JSONValue {
        .compactObject([
            ("id", .string(id.rawValue)),
            ("kind", .string(kind.rawValue)),
            ("state", .string(state.rawValue)),
            ("position", position.map { .int(Int64($0)) }),
            ("progress", .double((progress * 10000).rounded() / 10000)),
            ("stage", stage.map { .string($0) }),
            ("attempts", .int(Int64(attempts))),
            ("submittedAt", .string(Clock.iso8601(submittedAt))),
            ("startedAt", startedAt.map { .string(Clock.iso8601($0)) }),
            ("finishedAt", finishedAt.map { .string(Clock.iso8601($0)) }),
            ("input", .string(input)),
            ("output", .compactObject([
                ("path", .string(output.path)),
                ("bytes", output.bytes.map { .int($0) }),
                ("duration", output.duration.map { .double($0) }),
                ("slides", output.slides.map { .int(Int64($0)) }),
            ])),
            ("mediaSeconds", mediaSeconds.map { .double($0) }),
            ("nextAttemptAt", nextAttemptAt.map { .string(Clock.iso8601($0)) }),
            ("error", error.map { .object([("code", .string($0.code)), ("message", .string($0.message))]) }),
        ] + schedulePairs)
    }

    public init?(json v: JSONValue) {
        guard let ids = v["id"]?.stringValue, let id = JobID(ids),
              let k = v["kind"]?.stringValue, let kind = JobKind(rawValue: k),
              let s = v["state"]?.stringValue, let state = JobState(rawValue: s),
              let out = v["output"], let outPath = out["path"]?.stringValue else { return nil }
        self.id = id
        self.kind = kind
        self.state = state
        position = v["position"]?.intValue.map { Int($0) }
        progress = v["progress"]?.doubleValue ?? 0
        stage = v["stage"]?.stringValue
        attempts = Int(v["attempts"]?.intValue ?? 0)
        submittedAt = v["submittedAt"]?.stringValue.flatMap(Clock.parseISO8601) ?? id.timestamp
        startedAt = v["startedAt"]?.stringValue.flatMap(Clock.parseISO8601)
        finishedAt = v["finishedAt"]?.stringValue.flatMap(Clock.parseISO8601)
        input = v["input"]?.stringValue ?? ""
        output = Output(path: outPath, bytes: out["bytes"]?.intValue, duration: out["duration"]?.doubleValue,
                        slides: out["slides"]?.intValue.map { Int($0) })
        mediaSeconds = v["mediaSeconds"]?.doubleValue
        nextAttemptAt = v["nextAttemptAt"]?.stringValue.flatMap(Clock.parseISO8601)
        if let e = v["error"], let c = e["code"]?.stringValue, let m = e["message"]?.stringValue {
            error = Failure(code: c, message: m)
        }
        readSchedule(v)
    }

    /// Writes the sidecar into `spool` atomically; `durable` adds the fsyncs
    /// that make a state change survive a power cut (progress updates skip them).
    /// Each change worth a line (state, stage, attempt, whole-percent progress) is also appended to `SPOOL/events.jsonl`.
    public func write(to spool: Spool, durable: Bool) throws(SystemError) {
        let final = spool.sidecarPath(id)
        let previous = StatusSidecar.read(id, in: spool)
        let tmp = spool.path("tmp/status-" + id.rawValue + "." + String(getpid()))
        try? Sys.unlink(tmp)
        let fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        SharedSpool.handOverRecord(fd, id: id, in: spool)  // a shared spool: readable by the job's owner only
        do {
            try Sys.writeAll(fd, Array((json().jsonText() + "\n").utf8), path: tmp)
            if durable { try Sys.fsync(fd, path: tmp) }
        } catch { Glibc.close(fd); try? Sys.unlink(tmp); throw error }
        do {
            try Sys.close(fd, path: tmp)
            try Sys.rename(tmp, final)
        } catch { try? Sys.unlink(tmp); throw error }
        if durable { try Sys.fsyncDirectory(spool.path("status")) }
        EventLog(spool: spool).appendChange(from: previous, to: self)
    }

    /// Reads the sidecar of `id`, or nil when there is none (a queued job) or it is unreadable.
    public static func read(_ id: JobID, in spool: Spool) -> StatusSidecar? {
        guard let bytes = try? Sys.readFile(spool.sidecarPath(id), limit: 1 << 20),
              let v = try? JSONParser.parse(bytes) else { return nil }
        return StatusSidecar(json: v)
    }
}

extension Spool {
    /// The current status of a job: its sidecar, with the state taken from
    /// the directory the job sits in (the truth) and a live queue position.
    /// - Parameter snapshot: a look at the queue already taken (one for many jobs, as `list` does).
    /// - Parameter place: the job's place already found (`status` finds it once for the record and the ETA).
    public func status(of id: JobID, withPosition: Bool = true, snapshot: QueueSnapshot? = nil, place: QueuePlace? = nil) throws(SpoolError) -> StatusSidecar {
        guard let state = state(of: id) else { throw .unknownJob(id.rawValue) }
        var record: StatusSidecar
        if let s = StatusSidecar.read(id, in: self) {
            record = s
        } else {
            do {
                record = StatusSidecar(queued: try readJob(id, state), id: id)
            } catch {
                // Either the job moved between the look-up and the read (ask
                // again), or its file is not a valid job (the daemon will fail it).
                guard let again = self.state(of: id) else { throw .unknownJob(id.rawValue) }
                if let job = try? readJob(id, again) {
                    record = StatusSidecar(queued: job, id: id)
                } else {
                    record = StatusSidecar(queued: Job(kind: .mp3, input: "", output: ""), id: id)
                    record.error = .init(code: "invalid-job", message: "the stored job file is unreadable: \(error)")
                }
            }
        }
        record.state = state
        record.position = nil
        if state == .queued {
            do throws(SystemError) {
                if let snapshot {
                    snapshot.apply(to: &record, withPosition: withPosition)
                } else if withPosition {
                    let at: QueuePlace
                    if let place, place.entry.id == id { at = place } else { at = try QueuePlace(of: id, spool: self) }
                    at.apply(to: &record)
                } else {
                    try QueueSnapshot(spool: self, withOrder: false).apply(to: &record, withPosition: false)
                }
            } catch { throw .system(error) }
        } else if state == .held {
            (record.priority, record.notBefore) = schedule(of: id, in: .held)
            record.deferredReason = nil
            record.nextAttemptAt = nil
        } else if state != .processing {
            record.deferredReason = nil
        }
        return record
    }
}
