import Glibc

/// What a request to change one job came to.
public enum JobChange: Sendable, Equatable {
    /// Done.
    case changed
    /// The job was already so (held when asked to hold); nothing to do.
    case unchanged
    /// The job is in a state the request does not apply to.
    case notApplicable(JobState)
}

extension Spool {
    /// `scheduled/ID`: an empty file that says the job file of `ID` has a
    /// priority or a `notBefore` of its own. `status` and `list` read only
    /// those job files (and the ones with a record) to place a job in the
    /// queue, so that with 10,000 jobs queued they do not read 10,000 files.
    /// The daemon never relies on it: it orders jobs from their files.
    public func scheduledPath(_ id: JobID) -> String { root + "/scheduled/" + id.rawValue }

    /// Whether `job`'s own file changes where it stands in the queue.
    static func needsScheduleMark(_ job: Job) -> Bool { job.schedule.priority != 0 || job.schedule.notBefore != nil }

    /// Marks `ids` as having a schedule of their own (before they are queued), then fsyncs `scheduled/`.
    func markScheduled(_ ids: [JobID]) throws(SystemError) {
        guard !ids.isEmpty else { return }
        for id in ids {
            let p = scheduledPath(id)
            let fd: Int32
            do { fd = try Sys.open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600) } catch {
                if error.errno == EEXIST { continue }
                throw error
            }
            try Sys.close(fd, path: p)
        }
        try Sys.fsyncDirectory(path("scheduled"))
    }

    /// Parks a queued (or deferred) job in `held/`, where the daemon does not look.
    ///
    /// The rename out of `queue/` decides the race with the daemon's claim:
    /// if the daemon renamed it first, the job is reported as processing.
    public func hold(_ id: JobID) throws(SpoolError) -> JobChange {
        try move(id, from: .queued, to: .held, alreadyThere: .held)
    }

    /// Puts a held job back in `queue/`, where it takes its place by priority and id.
    public func release(_ id: JobID) throws(SpoolError) -> JobChange {
        try move(id, from: .held, to: .queued, alreadyThere: nil)
    }

    private func move(_ id: JobID, from: JobState, to: JobState, alreadyThere: JobState?) throws(SpoolError) -> JobChange {
        do { try ensureLayout() } catch { throw .system(error) }
        for _ in 0..<3 {
            guard let state = state(of: id) else { throw .unknownJob(id.rawValue) }
            if state == alreadyThere { return .unchanged }
            guard state == from else { return .notApplicable(displayState(id, state)) }
            do {
                try Sys.renameNoReplace(jobPath(id, from), jobPath(id, to))
                try Sys.fsyncDirectory(path(to.directory))
                return .changed
            } catch {
                if error.errno != ENOENT { throw .system(error) }
                // Claimed or cancelled meanwhile: look again.
            }
        }
        throw .changing(id.rawValue)
    }

    /// Sets the priority of a queued, deferred or held job, in `priority/ID`.
    ///
    /// The job file is never rewritten, so a daemon claiming the job at the
    /// same moment can neither lose it nor see it twice: the priority file is
    /// written first, then the job's state is read again, and if the job has
    /// started meanwhile the file is removed and the change reported as too late.
    public func setPriority(_ id: JobID, _ priority: Int) throws(SpoolError) -> JobChange {
        do { try ensureLayout() } catch { throw .system(error) }
        guard let state = state(of: id) else { throw .unknownJob(id.rawValue) }
        guard state.isWaiting else { return .notApplicable(state) }
        let final = priorityPath(id)
        let tmp = path("tmp/priority-" + id.rawValue + "." + String(getpid()))
        do throws(SystemError) {
            try? Sys.unlink(tmp)
            let fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            do {
                try Sys.writeAll(fd, Array("\(priority)\n".utf8), path: tmp)
                try Sys.fsync(fd, path: tmp)
            } catch { Glibc.close(fd); try? Sys.unlink(tmp); throw error }
            try Sys.close(fd, path: tmp)
            try Sys.rename(tmp, final)
            try Sys.fsyncDirectory(path("priority"))
        } catch {
            try? Sys.unlink(tmp)
            throw .system(error)
        }
        if let now = self.state(of: id), !now.isWaiting {
            try? Sys.unlink(final)
            return .notApplicable(now)
        }
        return .changed
    }

    /// Puts a failed or cancelled job back in the queue with a fresh count of
    /// attempts; its history, and the attempts made so far, are kept in its record.
    ///
    /// The queued record is made durable before the job file moves, so a crash
    /// in between leaves a failed job whose record reads queued (`status`
    /// takes the state from the directory) and `retry` can be run again.
    public func retry(_ id: JobID) throws(SpoolError) -> JobChange {
        for _ in 0..<3 {
            guard let state = state(of: id) else { throw .unknownJob(id.rawValue) }
            guard state == .failed || state == .cancelled else { return .notApplicable(displayState(id, state)) }
            var r: StatusSidecar
            if let s = StatusSidecar.read(id, in: self) {
                r = s
            } else if let job = try? readJob(id, state) {
                r = StatusSidecar(queued: job, id: id)
            } else {
                throw .system(SystemError("read", jobPath(id, state), errno: EIO))
            }
            let before = r
            if r.history.last?.attempt != r.overallAttempt, let e = r.error, r.attempts > 0 {
                r.recordAttempt(code: e.code, message: e.message, at: r.finishedAt ?? Clock.now())
            }
            r.state = .queued
            r.earlierAttempts += r.attempts
            r.attempts = 0
            r.retried += 1
            r.error = nil
            r.startedAt = nil
            r.finishedAt = nil
            r.progress = 0
            r.stage = "requeued by exportctl retry"
            r.nextAttemptAt = nil
            r.deferredReason = nil
            r.output = StatusSidecar.Output(path: r.output.path)
            r.mediaSeconds = nil
            do throws(SystemError) {
                try r.write(to: self, durable: true)
                do {
                    try Sys.renameNoReplace(jobPath(id, state), jobPath(id, .queued))
                } catch {
                    try? before.write(to: self, durable: true)
                    if error.errno == ENOENT { continue }
                    throw error
                }
                try Sys.fsyncDirectory(path("queue"))
            } catch {
                throw .system(error)
            }
            return .changed
        }
        throw .changing(id.rawValue)
    }

    /// `queued` or `deferred`, as `status` shows it; other states as they are.
    func displayState(_ id: JobID, _ state: JobState) -> JobState {
        guard state == .queued, let r = try? status(of: id, withPosition: false) else { return state }
        return r.state
    }
}
