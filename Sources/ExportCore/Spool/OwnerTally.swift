import Glibc

/// The tally of a shared spool: a user is a uid, and a job is theirs when its
/// file is (the daemon gives each job file and status record to its
/// submitter at take-in). A member can type any `user`, so that field does
/// not count here.
///
/// It reads only what a member may: it lists the 0750 state folders and
/// `lstat`s the names, and reads only the uid's own status records.
/// - Active: files of the uid in `queue/`, `held/` and `running/`, and with
///   `countingDrops` (at submit) its `drop/ID.json` files not yet taken in.
/// - Rendered: the uid's status records of jobs that started and finished
///   (completed, failed or cancelled) in the window, by their `finishedAt`;
///   a record is rewritten at each state change, so its mtime rules out
///   older ones without reading them.
public struct OwnerTally: UserTally {
    public let spool: Spool
    public let uid: uid_t
    public let countingDrops: Bool

    public init(spool: Spool, uid: uid_t, countingDrops: Bool) {
        self.spool = spool
        self.uid = uid
        self.countingDrops = countingDrops
    }

    private var key: String { "uid \(uid)" }

    public func key(of job: Job) -> String { key }

    /// `user 'ann'` (the login name of the uid), or `uid 1001` when it has none.
    public func name(of job: Job) -> String {
        guard let pw = getpwuid(uid) else { return key }
        return "user '\(String(cString: pw.pointee.pw_name))'"
    }

    public func active() throws(SystemError) -> [String: Int] {
        // drop/ first: a job being taken in is renamed into queue/ before its drop file goes,
        // so it may be counted twice but never missed.
        var n = countingDrops ? try owned(in: SharedSpool.dropDirectory).count : 0
        for state in [JobState.queued, .held, .processing] { n += try owned(in: state.directory).count }
        return [key: n]
    }

    public func rendered(since: Double, until: Double) throws(SystemError) -> [String: Int] {
        var n = 0
        for (name, st) in try owned(in: "status") where Retention.mtime(st) > since {
            guard let id = JobID(String(name.dropLast(5))), let r = StatusSidecar.read(id, in: spool),
                  r.state.isFinished, r.startedAt != nil, let end = r.finishedAt, end > since, end <= until else { continue }
            n += 1
        }
        return [key: n]
    }

    /// The `*.json` files in the spool folder `dir` that belong to the uid, with their status.
    private func owned(in dir: String) throws(SystemError) -> [(String, stat)] {
        let names: [String]
        do { names = try Sys.listDirectory(spool.path(dir)) } catch {
            if error.errno == ENOENT { return [] }
            throw error
        }
        return names.compactMap { name in
            guard name.hasSuffix(".json"), let st = Sys.fileStatus(spool.path(dir + "/" + name)), st.st_uid == uid else { return nil }
            return (name, st)
        }
    }
}
