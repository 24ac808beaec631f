import Glibc

/// A spool several users of one machine submit to (`sharedGroup` in
/// settings.json), in Postfix's way: the daemon (root) owns the spool; the
/// group's members drop jobs into `drop/` (mode 1730: they can create files
/// there but not list or remove others'); the daemon takes each one in,
/// taking the submitter from the file's owner (`fstat`), never from its
/// content, and hands the job file and its status record to that user, mode
/// 0400, so only they (and root) can read them. It renders the job as that
/// user (the render child drops to their uid and groups), so the render
/// reads and writes only what they could, and it publishes an output only
/// over a temp that user made and never over another user's file.
public enum SharedSpool {
    /// The folder submitters of a shared spool drop jobs into.
    public static let dropDirectory = "drop"

    /// Whether `spool` has been prepared as a shared spool (it has `drop/`).
    public static func isShared(_ spool: Spool) -> Bool { Sys.exists(spool.path(dropDirectory)) }

    /// Whether this process must submit through `drop/` (it cannot write the spool's own `tmp/`).
    public static func mustDrop(_ spool: Spool) -> Bool { isShared(spool) && access(spool.path("tmp"), W_OK) != 0 }

    /// The group `name` (a group name or a number).
    public static func group(named name: String) -> gid_t? {
        if let n = UInt32(name) { return gid_t(n) }
        guard let g = getgrnam(name) else { return nil }
        return g.pointee.gr_gid
    }

    /// Makes `spool` shared with `group`: the spool and its state folders
    /// root:group 0750 (members may look up their own jobs by id), `drop/` and
    /// `cancel/` 1730 (create only), `tmp/` and the control folders 0700.
    public static func prepare(_ spool: Spool, group: gid_t) throws(SystemError) {
        try Sys.mkdir(spool.path(dropDirectory))
        let me = geteuid()
        for (d, mode) in modes {
            let path = d == "." ? spool.root : spool.path(d)
            guard Sys.exists(path) else { continue }
            if chown(path, me, group) != 0 { throw SystemError("chown", path) }
            if chmod(path, mode) != 0 { throw SystemError("chmod", path) }
        }
        // Members may see whether a daemon holds the lock (`status`, `cancel`); it holds only its pid.
        _ = chmod(spool.path("daemon.lock"), 0o644)
        try Sys.fsyncDirectory(spool.root)
    }

    /// Whether job `id` is still in `drop/`, not yet taken in by the daemon.
    public static func isDropped(_ id: JobID, in spool: Spool) -> Bool {
        Sys.exists(spool.path(dropDirectory + "/" + id.rawValue + ".json"))
    }

    /// Waits (polling every 50 ms) until none of `ids` is still in `drop/`; false when `timeout` passes first.
    public static func awaitTakeIn(_ ids: [JobID], in spool: Spool, timeout: Double?) -> Bool {
        let deadline = timeout.map { Clock.monotonic() + $0 }
        while ids.contains(where: { isDropped($0, in: spool) }) {
            if let deadline, Clock.monotonic() >= deadline { return false }
            usleep(50_000)
        }
        return true
    }

    /// The modes of a shared spool's folders that differ from a private one's 0700
    /// (`.` is the spool itself); `fsck` checks against them.
    public static let modes: [String: mode_t] = [
        ".": 0o750, "queue": 0o750, "held": 0o750, "running": 0o750, "done": 0o750, "failed": 0o750,
        "cancelled": 0o750, "status": 0o750, dropDirectory: 0o1770, "cancel": 0o1730,
    ]

    /// The uid owning job `id`'s file, in whichever state it is; nil when there is none.
    public static func owner(of id: JobID, in spool: Spool) -> uid_t? {
        for state in JobState.allCases {
            if let st = Sys.fileStatus(spool.jobPath(id, state)) { return st.st_uid }
        }
        return nil
    }

    /// Why this process may not see or cancel job `id` (it belongs to another
    /// user of a shared spool: its file is not readable here), or nil.
    public static func refusal(for id: JobID, in spool: Spool) -> String? {
        guard isShared(spool), geteuid() != 0, let state = spool.state(of: id), access(spool.jobPath(id, state), R_OK) != 0 else { return nil }
        return "job \(id) belongs to another user of this shared spool; only they (or root) can see or cancel it"
    }

    /// Gives the file behind `fd` to `owner`, readable by them only (0400),
    /// when this process (the daemon) is not that user.
    public static func handOver(_ fd: Int32, to owner: uid_t) {
        guard owner != geteuid() else { return }
        _ = fchown(fd, owner, gid_t(bitPattern: -1))
        _ = fchmod(fd, 0o400)
    }

    /// Gives the status record being written for `id` to its job's owner (see `handOver`).
    static func handOverRecord(_ fd: Int32, id: JobID, in spool: Spool) {
        guard isShared(spool), let owner = owner(of: id, in: spool) else { return }
        handOver(fd, to: owner)
    }

    // MARK: - submitting

    /// Drops validated jobs into `drop/` as `ID.json` (a temp `.ID` first,
    /// O_EXCL, fsynced, renamed no-replace, the folder fsynced); the daemon
    /// takes them in. The whole batch or nothing.
    public static func drop(_ jobs: [Job], into spool: Spool) throws(SystemError) -> [JobID] {
        let dir = spool.path(dropDirectory)
        var done: [String] = [], ids: [JobID] = []
        var last: JobID?
        do throws(SystemError) {
            let now = Clock.now()
            for var job in jobs {
                let id = JobID.make(after: last)
                last = id
                job.id = id
                job.submittedAt = now
                job.user = nil  // hashed by the daemon, which holds the secret
                let tmp = dir + "/." + id.rawValue
                let fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
                do {
                    try Sys.writeAll(fd, Array((job.storedJSON().jsonText() + "\n").utf8), path: tmp)
                    try Sys.fsync(fd, path: tmp)
                    try Sys.close(fd, path: tmp)
                } catch { Glibc.close(fd); try? Sys.unlink(tmp); throw error }
                let final = dir + "/" + id.rawValue + ".json"
                do { try Sys.renameNoReplace(tmp, final) } catch { try? Sys.unlink(tmp); throw error }
                done.append(final)
                ids.append(id)
            }
            try Sys.fsyncDirectory(dir)
        } catch {
            for f in done { try? Sys.unlink(f) }
            throw error
        }
        return ids
    }

    // MARK: - taking jobs in (the daemon)

    /// Takes `drop/NAME` into `queue/`: the submitter is the file's owner
    /// (`fstat` of the descriptor read), the job is decoded again as a
    /// stored job under the spool's roots, written to `queue/ID.json` owned
    /// by the submitter (0400) and the drop file removed. A file that is not
    /// a job is removed and logged. A job past a limit of `settings` (see
    /// `checkLimits`) is not queued but goes to `failed/` with the reason.
    /// - Returns: the id queued, if any.
    @discardableResult
    public static func takeIn(_ name: String, spool: Spool, settings: SpoolSettings, log: (String) -> Void) -> JobID? {
        guard name.hasSuffix(".json"), let id = JobID(String(name.dropLast(5))) else { return nil }
        let src = spool.path(dropDirectory + "/" + name)
        guard let fd = try? Sys.open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let uid = st.st_uid
        do {
            guard uid == geteuid() || geteuid() == 0 else {
                throw JobError(file: src, message: "only a daemon running as root takes in other users' jobs")
            }
            guard (st.st_mode & S_IFMT) == S_IFREG, st.st_nlink == 1, st.st_size <= Job.maxStoredBytes else {
                throw JobError(file: src, message: "not a regular single-link file of at most \(Job.maxStoredBytes >> 20) MiB")
            }
            var job = try JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false, roots: settings.roots)
                .decode(try Sys.readAll(fd, limit: Job.maxStoredBytes, path: src), name: src)
            guard job.id == id else { throw JobError(file: src, field: "id", message: "does not match the file name") }
            if spool.state(of: id) != nil { throw JobError(file: src, field: "id", message: "\(id) is already in the spool") }
            job.submittedAt = job.submittedAt ?? Clock.now()
            let refusal = try limitRefusal(job, of: uid, in: spool, settings: settings)
            let tmp = spool.path("tmp/" + id.rawValue)
            try? Sys.unlink(tmp)
            let out = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            do {
                try Sys.writeAll(out, Array((job.storedJSON().jsonText() + "\n").utf8), path: tmp)
                handOver(out, to: uid)
                try Sys.fsync(out, path: tmp)
                try Sys.close(out, path: tmp)
            } catch { Glibc.close(out); try? Sys.unlink(tmp); throw error }
            if let refusal {
                try refuse(job, id: id, temp: tmp, failure: refusal, in: spool)
                try Sys.unlink(src)
                log("\(id) from drop/ (uid \(uid)) failed: \(refusal.message)")
                return nil
            }
            if Spool.needsScheduleMark(job) { try spool.markScheduled([id]) }
            do { try Sys.renameNoReplace(tmp, spool.jobPath(id, .queued)) } catch { try? Sys.unlink(tmp); throw error }
            try Sys.fsyncDirectory(spool.path("queue"))
            try Sys.unlink(src)
            log("\(id) taken in from drop/ for uid \(uid)")
            return id
        } catch let e as SystemError {
            log("drop/\(name) not taken in yet: \(e)")  // e.g. a full disk: the next rescan tries again
            return nil
        } catch {
            log("drop/\(name) refused (uid \(uid)): \(error)")
            try? Sys.unlink(src)
            return nil
        }
    }
}
