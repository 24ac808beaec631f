import Glibc

/// Puts validated jobs into the spool's queue, durably, before their ids are printed.
///
/// Each job is written to `tmp/ID` (O_EXCL, O_NOFOLLOW), fsynced and closed;
/// then all are renamed into `queue/` (no-replace) and `queue/` is fsynced
/// once for the whole batch. A batch of `syncfsBatch` jobs or more is made
/// durable by one syncfs(2) of the spool's filesystem after all are written,
/// instead of an fsync each (one journal commit instead of a thousand). On any error every temp and every job already
/// renamed by this call is removed again: a batch goes in whole or not at all.
/// The batch's `queued` lines go into `events.jsonl` in one write just before
/// the renames (after them, a daemon's `processing` line could come first); a
/// batch rolled back after that leaves those lines for ids that never were.
///
/// A job with an `idempotencyKey` whose earlier job is still queued, running,
/// or completed with its output unchanged is not queued again: its
/// submission names the earlier job (see `KeyIndex`).
public struct Submitter {
    public let spool: Spool

    public init(spool: Spool) { self.spool = spool }

    /// From this many jobs, one syncfs(2) replaces the fsync of each job file. An fsync
    /// took 0.6 ms here, most of a 1,000-job submit; the syncfs of 1,000 files 20 ms. Below it,
    /// fsyncs are cheaper than flushing whatever else is dirty on the filesystem.
    public static let syncfsBatch = 32

    /// What became of one submitted job.
    public struct Submission: Sendable, Equatable {
        public var id: JobID
        /// nil when this submit queued the job; else the state of the earlier
        /// job with the same idempotency key (queued, processing or completed).
        public var earlier: JobState?
    }

    /// Queues `jobs` (paths already absolute) and returns their ids in order.
    public func submit(_ jobs: [Job]) throws(SpoolError) -> [JobID] {
        try queue(jobs).map(\.id)
    }

    /// Queues `jobs`, or names the earlier job of the same idempotency key; in order.
    /// - Parameter admit: the last check of the jobs that will be queued (by
    ///   index), made under the index's lock; its errors refuse the whole batch.
    public func queue(_ jobs: [Job], admit: ([Int]) -> [JobError] = { _ in [] }) throws(SpoolError) -> [Submission] {
        let settings: SpoolSettings
        do { settings = try spool.settings() } catch { throw .settings(error) }
        if let problem = settings.notificationProblem(with: jobs, settingsPath: spool.path("settings.json")) { throw problem }
        var jobs = jobs
        let keys = KeyIndex(spool: spool)
        var lock: KeyIndex.Lock?
        var results: [Submission?] = Array(repeating: nil, count: jobs.count)
        var entries: [Int: String] = [:]  // job index → key entry to point at it
        var duplicateOf: [Int: Int] = [:]  // a key repeated within this batch → its first use
        do {
            if !spool.exists { try spool.create() }
            if QueueControl(spool: spool).draining { throw SpoolError.draining }
            let salt = jobs.contains { $0.user != nil } ? try spool.secret() : []
            for i in jobs.indices {
                if let user = jobs[i].user { jobs[i].userHash = SHA256.hex(SHA256.hmac(key: salt, message: Array(user.utf8))) }
            }
            if jobs.contains(where: { $0.idempotencyKey != nil }) {
                lock = try keys.lock()
                var inBatch: [String: Int] = [:]
                for (i, job) in jobs.enumerated() {
                    guard let key = job.idempotencyKey else { continue }
                    let name = KeyIndex.entryName(key: key, userHash: job.userHash)
                    if let first = inBatch[name] { duplicateOf[i] = first; continue }
                    inBatch[name] = i
                    switch keys.earlier(name) {
                    case let .pending(id, state): results[i] = Submission(id: id, earlier: state)
                    case let .done(id): results[i] = Submission(id: id, earlier: .completed)
                    case .none: entries[i] = name
                    }
                }
            }
            let fresh = jobs.indices.filter { results[$0] == nil && duplicateOf[$0] == nil }
            let refused = admit(fresh)
            if !refused.isEmpty { throw SpoolError.refused(refused) }
            if SharedSpool.isShared(spool) {
                // A shared spool counts by uid, root's own submits too (SharedSpool+Limits.swift).
                try SharedSpool.checkLimits(fresh.map { jobs[$0] }, of: geteuid(), in: spool, settings: settings, countingDrops: true)
            } else {
                if let cap = settings.queueCap, !fresh.isEmpty {
                    let waiting = try spool.count(in: .queued)
                    if waiting + fresh.count > cap { throw SpoolError.queueFull(waiting: waiting, cap: cap) }
                }
                try UserLimits(spool: spool, settings: settings).check(fresh.map { jobs[$0] })
            }
        } catch let e as SpoolError { throw e } catch let e as SystemError { throw .system(e) } catch { throw .system(SystemError("submit", errno: EIO)) }

        var temps: [(Int, JobID, String)] = []
        var queued: [String] = []
        var written: [String] = []
        var marked: [JobID] = []
        func rollback() {
            for (_, _, t) in temps { try? Sys.unlink(t) }
            for id in marked { try? Sys.unlink(spool.scheduledPath(id)) }
            for q in queued { try? Sys.unlink(q) }
            for name in written { keys.remove(name) }
        }
        var last: JobID?
        do throws(SystemError) {
            let now = Clock.now()
            // Opened before the writes, so its syncfs reports a writeback error during them.
            let batch: Int32? = try jobs.count >= Submitter.syncfsBatch ? Sys.openDirectory(spool.path("tmp")) : nil
            defer { if let batch { Glibc.close(batch) } }
            for i in jobs.indices where results[i] == nil && duplicateOf[i] == nil {
                var job = jobs[i]
                var id = JobID.make(after: last)
                job.submittedAt = now
                job.user = nil
                var tmp = spool.path("tmp/" + id.rawValue)
                var fd: Int32 = -1
                while true {
                    job.id = id
                    do { fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600); break } catch {
                        if error.errno != EEXIST { throw error }
                        id = JobID.make(after: id)
                        tmp = spool.path("tmp/" + id.rawValue)
                    }
                }
                temps.append((i, id, tmp))
                last = id
                do {
                    try Sys.writeAll(fd, Array((job.storedJSON().jsonText() + "\n").utf8), path: tmp)
                    if batch == nil { try Sys.fsync(fd, path: tmp) }
                } catch { Glibc.close(fd); throw error }
                try Sys.close(fd, path: tmp)
            }
            if let batch, !temps.isEmpty { try Sys.syncfs(batch, path: spool.path("tmp")) }
            // Key entries first: a crash before the jobs are queued leaves stale entries only.
            for (i, id, _) in temps {
                guard let name = entries[i] else { continue }
                try keys.write(name, id: id)
                written.append(name)
            }
            if !written.isEmpty { try Sys.fsyncDirectory(keys.directory) }
            marked = temps.filter { Spool.needsScheduleMark(jobs[$0.0]) }.map(\.1)
            try spool.markScheduled(marked)
            // The queued events go in before the daemon can see the jobs, so none of its events comes first.
            EventLog(spool: spool).append(temps.map { JobEvent(record: StatusSidecar(queued: jobs[$0.0], id: $0.1)) })
            for (i, id, tmp) in temps {
                let dest = spool.jobPath(id, .queued)
                try Sys.renameNoReplace(tmp, dest)
                queued.append(dest)
                results[i] = Submission(id: id, earlier: nil)
            }
            temps.removeAll()
            try Sys.fsyncDirectory(spool.path("queue"))
        } catch {
            rollback()
            throw .system(error)
        }
        withExtendedLifetime(lock) {}
        // A repeated key within this batch names the job its first use got.
        for (i, first) in duplicateOf { results[i] = Submission(id: results[first]!.id, earlier: results[first]!.earlier ?? .queued) }
        return results.map { $0! }
    }
}
