import Glibc

extension Spool {
    /// Ends a job: the final sidecar made durable first, then the job file
    /// renamed into its finished directory, then one analytics line.
    ///
    /// Returns false when the job was no longer in `from` (someone else moved it).
    @discardableResult
    public func conclude(_ record: StatusSidecar, from: JobState, userHash: String?, renderSeconds: Double? = nil) throws(SystemError) -> Bool {
        precondition(record.state.isFinished)
        try record.write(to: self, durable: true)
        // The line goes in before the job leaves `from`: a crash after the line
        // leaves the job there with its final record, and concluding it again at
        // restart finds the line and does not write a second one. (Written after
        // the move, a crash in between lost the line.)
        guard Sys.exists(jobPath(record.id, from)) else { return false }
        // Hooks and webhooks are queued durably before the job leaves `from`, like the line below.
        try Outbox(spool: self).enqueue(for: record, jobFile: jobPath(record.id, from))
        let finished = record.finishedAt ?? Clock.now()
        let log = AnalyticsLog(path: analyticsPath)
        let attempt = max(1, record.overallAttempt)
        if try !log.hasRecent(id: record.id.rawValue, attempt: attempt, outcome: record.state.rawValue) {
            var entry = AnalyticsLog.Entry(
                time: finished, id: record.id.rawValue, attempt: attempt, kind: record.kind.rawValue,
                outcome: record.state.rawValue, userHash: userHash, mediaSeconds: record.mediaSeconds,
                renderSeconds: renderSeconds,
                queueSeconds: record.startedAt.map { max(0, $0 - record.submittedAt) } ?? max(0, finished - record.submittedAt),
                bytes: record.output.bytes, errorCode: record.error?.code)
            // What estimates learn by: the job's size class, and a carousel's slides.
            entry.sizeClass = (try? readJob(record.id, from)).map(Estimator.sizeClass)
            entry.slides = record.output.slides
            try log.append(entry)
        }
        do {
            try Sys.rename(jobPath(record.id, from), jobPath(record.id, record.state))
        } catch {
            if error.errno == ENOENT { return false }
            throw error
        }
        try Sys.fsyncDirectory(path(record.state.directory))
        try? Sys.unlink(priorityPath(record.id))  // a finished job has no place in the queue
        try? Sys.unlink(scheduledPath(record.id))
        return true
    }

    /// Cancels a queued job: the rename out of `queue/` decides the race with
    /// the daemon's claim. Returns false when the job was not queued.
    public func cancelQueued(_ id: JobID, from: JobState = .queued) throws(SystemError) -> Bool {
        do {
            try Sys.renameNoReplace(jobPath(id, from), jobPath(id, .cancelled))
        } catch {
            if error.errno == ENOENT { return false }
            throw error
        }
        try Sys.fsyncDirectory(path(JobState.cancelled.directory))
        let job = try? readJob(id, .cancelled)
        var record = StatusSidecar.read(id, in: self) ?? job.map { StatusSidecar(queued: $0, id: id) }
            ?? StatusSidecar(queued: Job(kind: .mp3, input: "", output: ""), id: id)
        record.state = .cancelled
        record.position = nil
        record.finishedAt = Clock.now()
        record.stage = nil
        record.nextAttemptAt = nil
        record.deferredReason = nil
        record.error = StatusSidecar.Failure(code: "cancelled", message: from == .held ? "cancelled while held" : "cancelled while queued")
        try? Sys.unlink(priorityPath(id))
        try? Sys.unlink(scheduledPath(id))
        try record.write(to: self, durable: true)
        try Outbox(spool: self).enqueue(for: record, jobFile: jobPath(id, .cancelled))
        try AnalyticsLog(path: analyticsPath).append(.init(
            time: record.finishedAt!, id: id.rawValue, attempt: max(1, record.overallAttempt), kind: record.kind.rawValue,
            outcome: "cancelled", userHash: job?.userHash, queueSeconds: max(0, record.finishedAt! - record.submittedAt),
            errorCode: "cancelled"))
        return true
    }

    /// Asks the daemon to cancel a running job (it watches `cancel/`).
    public func requestCancel(_ id: JobID) throws(SystemError) {
        let p = cancelPath(id)
        do {
            let fd = try Sys.open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            try Sys.close(fd, path: p)
        } catch {
            if error.errno != EEXIST { throw error }
        }
    }
}
