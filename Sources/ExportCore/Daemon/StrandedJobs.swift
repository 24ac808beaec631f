/// Jobs left in `running/` because the state change after their render could
/// not be written (a full disk, an I/O error): the daemon tries again with a
/// doubling delay instead of leaving them there until its next start.
///
/// A job with the final record it was meant to get is concluded with it again
/// (`Spool.conclude` finds the analytics line if it was written, so none is
/// doubled); one without is recovered as start-up recovery would
/// (`SpoolChecker.recoverOrphan`): finished if its publish is on disk, else requeued.
struct StrandedJobs {
    private struct Entry {
        var record: StatusSidecar?
        var userHash: String?
        var renderSeconds: Double?
        var due: Double
        var wait: Double
    }

    private var entries: [JobID: Entry] = [:]

    var isEmpty: Bool { entries.isEmpty }

    /// When (monotonic) the next one is due; nil when there are none.
    var nextDue: Double? { entries.values.map(\.due).min() }

    /// Remembers `id`, to be concluded with `record` (or recovered when nil) after `wait` seconds.
    mutating func add(_ id: JobID, record: StatusSidecar?, userHash: String?, renderSeconds: Double? = nil, wait: Double) {
        entries[id] = Entry(record: record, userHash: userHash, renderSeconds: renderSeconds, due: Clock.monotonic() + wait, wait: wait)
    }

    /// Tries each job that is due; returns the ones put back in the queue.
    mutating func retryDue(spool: Spool, settings: SpoolSettings, log: (String) -> Void) -> [JobID] {
        let now = Clock.monotonic()
        var requeued: [JobID] = []
        for (id, e) in entries where e.due <= now {
            guard Sys.exists(spool.jobPath(id, .processing)) else { entries[id] = nil; continue }
            do throws(SystemError) {
                if let record = e.record {
                    try spool.conclude(record, from: .processing, userHash: e.userHash, renderSeconds: e.renderSeconds)
                    log("\(id) \(record.state.rawValue) (its record written on a later try)")
                } else {
                    let outcome = try SpoolChecker(spool: spool, settings: settings, runningAreOrphans: true).recoverOrphan(id)
                    try Sys.fsyncDirectory(spool.path("queue"))
                    if Sys.exists(spool.jobPath(id, .queued)) { requeued.append(id) }
                    log("\(id) \(outcome) (its record written on a later try)")
                }
                entries[id] = nil
            } catch {
                let wait = min(SpoolSettings.maxBackoff, e.wait * 2)
                entries[id]?.due = now + wait
                entries[id]?.wait = wait
                log("\(id): still cannot record its outcome (\(error)); trying again in \(fmt(wait)) s")
            }
        }
        return requeued
    }
}
