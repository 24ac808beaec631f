import Glibc

/// The fairness limits of a shared spool, checked by `submit` (as the member)
/// and again by the daemon at take-in, since a member can write `drop/` by hand.
extension SharedSpool {
    /// `checkLimits` for a submit by this process (its uid, counting `drop/`), with the spool's settings.
    public static func checkLimits(_ jobs: [Job], in spool: Spool) throws(SpoolError) {
        let settings: SpoolSettings
        do { settings = try spool.settings() } catch { throw .settings(error) }
        try checkLimits(jobs, of: geteuid(), in: spool, settings: settings, countingDrops: true)
    }

    /// Throws `.queueFull` or `.userLimit` when `jobs` of `uid` would pass
    /// `queueCap`, `maxQueuedPerUser` or `maxRendersPerUserPerDay`.
    ///
    /// At submit (`countingDrops`) the jobs in `drop/` not yet taken in count
    /// as queued; at take-in only those already taken in do, so jobs dropped
    /// together are taken in, oldest first, until a limit is reached.
    public static func checkLimits(_ jobs: [Job], of uid: uid_t, in spool: Spool, settings: SpoolSettings,
                                   countingDrops: Bool) throws(SpoolError) {
        if let cap = settings.queueCap, !jobs.isEmpty {
            let waiting: Int
            do {
                let dropped = countingDrops ? try Sys.listDirectory(spool.path(dropDirectory)).filter { $0.hasSuffix(".json") }.count : 0
                waiting = try spool.count(in: .queued) + dropped
            } catch { throw .system(error) }
            if waiting + jobs.count > cap { throw .queueFull(waiting: waiting, cap: cap) }
        }
        try UserLimits(spool: spool, settings: settings)
            .check(jobs, counting: OwnerTally(spool: spool, uid: uid, countingDrops: countingDrops))
    }

    /// Why the daemon does not queue `job`, dropped by `uid`: the error code
    /// (`queue-full`, `user-limit`) and message, or nil when it is within the limits.
    /// A limit that cannot be counted (an I/O error) throws: the job stays in `drop/` for the next rescan.
    static func limitRefusal(_ job: Job, of uid: uid_t, in spool: Spool, settings: SpoolSettings) throws(SystemError) -> StatusSidecar.Failure? {
        do throws(SpoolError) {
            try checkLimits([job], of: uid, in: spool, settings: settings, countingDrops: false)
            return nil
        } catch {
            if case let .system(e) = error { throw e }
            if case .queueFull = error { return .init(code: "queue-full", message: "refused at take-in: \(error)") }
            return .init(code: "user-limit", message: "refused at take-in: \(error)")
        }
    }

    /// Ends dropped job `id`, already written to `temp` and given to its owner,
    /// as failed with `failure`: the job file goes straight into `failed/` and
    /// is concluded there, so its record (the owner's, like every record)
    /// says why. It is never queued, so a crash cannot let it run.
    static func refuse(_ job: Job, id: JobID, temp: String, failure: StatusSidecar.Failure, in spool: Spool) throws(SystemError) {
        do { try Sys.renameNoReplace(temp, spool.jobPath(id, .failed)) } catch { try? Sys.unlink(temp); throw error }
        try Sys.fsyncDirectory(spool.path(JobState.failed.directory))
        var record = StatusSidecar(queued: job, id: id)
        record.state = .failed
        record.finishedAt = Clock.now()
        record.error = failure
        // From `failed/` to `failed/`: conclude's rename is then a no-op (rename(2) of a file onto itself).
        try spool.conclude(record, from: .failed, userHash: job.userHash)
    }
}
