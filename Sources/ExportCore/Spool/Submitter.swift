import Glibc

/// Puts validated jobs into the spool's queue, durably, before their ids are printed.
///
/// Each job is written to `tmp/ID` (O_EXCL, O_NOFOLLOW), fsynced and closed;
/// then all are renamed into `queue/` (no-replace) and `queue/` is fsynced
/// once for the whole batch. On any error every temp and every job already
/// renamed by this call is removed again: a batch goes in whole or not at all.
public struct Submitter {
    public let spool: Spool

    public init(spool: Spool) { self.spool = spool }

    /// Queues `jobs` (paths already absolute) and returns their ids in order.
    public func submit(_ jobs: [Job]) throws(SpoolError) -> [JobID] {
        let settings: SpoolSettings
        do { settings = try spool.settings() } catch { throw .settings(error) }
        do {
            if !spool.exists { try spool.create() }
            if let cap = settings.queueCap {
                let waiting = try spool.ids(in: .queued).count
                if waiting + jobs.count > cap { throw SpoolError.queueFull(waiting: waiting, cap: cap) }
            }
        } catch let e as SpoolError { throw e } catch let e as SystemError { throw .system(e) } catch { throw .system(SystemError("submit", errno: EIO)) }

        var temps: [(JobID, String)] = []
        var queued: [String] = []
        func rollback() {
            for (_, t) in temps { try? Sys.unlink(t) }
            for q in queued { try? Sys.unlink(q) }
        }
        var last: JobID?
        do throws(SystemError) {
            let salt = jobs.contains { $0.user != nil } ? try spool.secret() : []
            let now = Clock.now()
            for var job in jobs {
                var id = JobID.make(after: last)
                job.submittedAt = now
                if let user = job.user { job.userHash = SHA256.hex(SHA256.hmac(key: salt, message: Array(user.utf8))) }
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
                temps.append((id, tmp))
                last = id
                do {
                    try Sys.writeAll(fd, Array((job.storedJSON().jsonText() + "\n").utf8), path: tmp)
                    try Sys.fsync(fd, path: tmp)
                } catch { Glibc.close(fd); throw error }
                try Sys.close(fd, path: tmp)
            }
            for (id, tmp) in temps {
                let dest = spool.jobPath(id, .queued)
                try Sys.renameNoReplace(tmp, dest)
                queued.append(dest)
            }
            temps.removeAll()
            try Sys.fsyncDirectory(spool.path("queue"))
        } catch {
            rollback()
            throw .system(error)
        }
        return queued.map { JobID(String(PathRules.basename(of: $0).dropLast(5)))! }
    }
}
