import Glibc

/// `SPOOL/keys/`: which job holds each idempotency key, so submitting the
/// same work again returns that job instead of rendering twice.
///
/// One small file per key, `keys/H`, holding the job id and a newline, where
/// H is the hex SHA-256 of the job's `userHash` (empty for no user), a
/// newline and the key: keys are scoped per user, and the file name never
/// depends on what the key contains. The stored job keeps its
/// `idempotencyKey`, so the index can always be rebuilt from the jobs
/// (`fsck --repair`), and an entry whose job is gone is stale and ignored.
///
/// Submits that carry keys hold `flock(LOCK_EX)` on `keys/.lock` from the
/// look-up until their jobs are in the queue, so two concurrent submits of
/// one key make one job. The entry is written (temp in `tmp/`, rename)
/// before the job is renamed into the queue: a crash in between leaves a
/// stale entry, never a queued job that a second submit would not find.
public struct KeyIndex: Sendable {
    public let spool: Spool

    public init(spool: Spool) { self.spool = spool }

    public var directory: String { spool.path("keys") }

    /// The entry name of `key` for the user with `userHash`.
    public static func entryName(key: String, userHash: String?) -> String {
        SHA256.hex(SHA256.hash(Array(((userHash ?? "") + "\n" + key).utf8)))
    }

    public func entryPath(_ name: String) -> String { directory + "/" + name }

    /// Holds the index's lock until `release` (or the process's death).
    public final class Lock {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { Glibc.close(fd) }
    }

    /// Waits for the index's lock, creating `keys/` when needed.
    public func lock() throws(SystemError) -> Lock {
        if !Sys.exists(directory) {
            do { try Sys.mkdir(directory) } catch { if error.errno != EEXIST { throw error } }
            try Sys.fsyncDirectory(spool.root)
        }
        let p = directory + "/.lock"
        let fd = try Sys.open(p, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600)
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = SystemError("flock", p)
            Glibc.close(fd)
            throw e
        }
        return Lock(fd: fd)
    }

    /// The job an entry names, or nil when there is none.
    public func lookup(_ name: String) -> JobID? {
        guard let bytes = try? Sys.readFile(entryPath(name), limit: 256) else { return nil }
        return JobID(String(decoding: bytes, as: UTF8.self).trimmingNewline)
    }

    /// Points entry `name` at `id` (temp, fsync, rename; the caller fsyncs `keys/`).
    public func write(_ name: String, id: JobID) throws(SystemError) {
        let tmp = spool.path("tmp/key-" + name + "." + String(getpid()))
        try? Sys.unlink(tmp)
        let fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        do {
            try Sys.writeAll(fd, Array((id.rawValue + "\n").utf8), path: tmp)
            try Sys.fsync(fd, path: tmp)
        } catch { Glibc.close(fd); try? Sys.unlink(tmp); throw error }
        do {
            try Sys.close(fd, path: tmp)
            try Sys.rename(tmp, entryPath(name))
        } catch { try? Sys.unlink(tmp); throw error }
    }

    public func remove(_ name: String) { try? Sys.unlink(entryPath(name)) }

    /// What an earlier job of the same key means for a new submit.
    public enum Earlier: Sendable, Equatable {
        /// Queued or rendering: return it.
        case pending(JobID, JobState)
        /// Completed and its output is still what it wrote: report it done.
        case done(JobID)
        /// Failed, cancelled, gone, or its output changed: queue a new job.
        case none
    }

    /// Looks up `name` and judges the job it names.
    public func earlier(_ name: String) -> Earlier {
        guard let id = lookup(name), let state = spool.state(of: id) else { return .none }
        switch state {
        case .queued, .deferred, .held, .processing: return .pending(id, state)
        case .completed:
            guard let job = try? spool.readJob(id, .completed), let record = StatusSidecar.read(id, in: spool) else { return .none }
            return KeyIndex.outputMatches(job: job, record: record) ? .done(id) : .none
        case .failed, .cancelled: return .none
        }
    }

    /// Whether a completed job's output is still the one it published: there,
    /// the size its record gives, and not modified after the job finished.
    public static func outputMatches(job: Job, record: StatusSidecar) -> Bool {
        guard let bytes = record.output.bytes, let size = Sys.outputSize(job.output), size == bytes,
              let st = Sys.fileStatus(job.output) else { return false }
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        return mtime <= (record.finishedAt ?? 0) + 1
    }

    // MARK: - checking

    /// A problem `fsck` reports in the index.
    public struct Problem: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case stale, missing }
        public var kind: Kind
        public var entry: String
        public var id: JobID?
    }

    /// Entries naming no job (`stale`), and jobs queued, running or completed
    /// whose key has no entry (`missing`); with `repair`, stale entries are
    /// removed and missing ones written. Holds the index's lock meanwhile.
    public func check(repair: Bool) throws(SystemError) -> [Problem] {
        guard Sys.exists(directory) else { return [] }
        // A submit in flight has written its entry but not yet queued its job: wait for it.
        let lock = try lock()
        defer { withExtendedLifetime(lock) {} }
        var problems: [Problem] = []
        var want: [String: JobID] = [:]
        for state in [JobState.queued, .held, .processing, .completed] {
            for id in try spool.ids(in: state) {
                guard let job = try? spool.readJob(id, state), let key = job.idempotencyKey else { continue }
                let name = KeyIndex.entryName(key: key, userHash: job.userHash)
                if let other = want[name], other > id { continue }
                want[name] = id
            }
        }
        for name in try Sys.listDirectory(directory) where name.count == 64 && name.allSatisfy(\.isHexDigit) {
            guard lookup(name).flatMap({ spool.state(of: $0) }) == nil else { continue }
            problems.append(Problem(kind: .stale, entry: entryPath(name), id: lookup(name)))
            if repair { remove(name) }
        }
        for (name, id) in want.sorted(by: { $0.key < $1.key }) where lookup(name) == nil {
            problems.append(Problem(kind: .missing, entry: entryPath(name), id: id))
            if repair { try write(name, id: id) }
        }
        if repair && !problems.isEmpty { try Sys.fsyncDirectory(directory) }
        return problems
    }
}
