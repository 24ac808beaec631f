import Glibc

/// Removes what a spool no longer needs: `exportctl gc` and the daemon's
/// periodic sweep.
///
/// - the records (job file and status record) of completed jobs older than
///   `keepCompletedFor`, and of failed and cancelled ones older than `keepFailedFor`;
/// - with `keepOutputFor`, completed jobs' outputs older than that, but only an
///   output that is still the one the job wrote (a regular file or a folder of
///   regular files, its size the recorded bytes, nothing in it newer than the job's
///   end, no symlink on the way);
/// - stale temps: files in tmp/ (`SpoolChecker.staleTemps`) and partial outputs
///   of finished jobs, older than `staleTempSeconds`;
/// - webhooks in `dead-letter/` written there longer ago than `keepFailedFor`
///   (by the file's modification time: when it was moved there, or for an
///   unreadable entry, when it was written).
///
/// A removed job's idempotency key entry goes with its record.
///
/// Queued and running jobs are never looked at: only done/, failed/ and
/// cancelled/ are listed. Safe beside a running daemon: a job file is removed
/// by its path in its finished directory (a job moved out meanwhile is missed,
/// not deleted), and its status record only after that.
public struct Retention {
    public struct Removal: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            case record
            case output
            case staleTemp = "stale-temp"
            case strayOutputTemp = "stray-output-temp"
            case deadLetter = "dead-letter"
        }

        public var kind: Kind
        public var path: String
        public var id: JobID?
        /// Why it goes.
        public var reason: String

        public var description: String { "\(kind.rawValue): \(path): \(reason)" }
    }

    public let spool: Spool
    public let settings: UpkeepSettings
    /// Temps older than this are left by dead processes.
    public var staleTempSeconds: Double = 36 * 3600
    /// Slack allowed between the job's recorded end and the newest write in its output.
    static let endSlack: Double = 2

    public init(spool: Spool, settings: UpkeepSettings) {
        self.spool = spool
        self.settings = settings
    }

    /// Finds what has expired at `now` and, unless `dryRun`, removes it.
    /// Returns what was (or would be) removed, one entry per path.
    public func run(dryRun: Bool, now: Double = Clock.now()) throws(SystemError) -> [Removal] {
        let sweep = try Sweep(self, dryRun: dryRun, now: now)
        var out: [Removal] = []
        while !sweep.isFinished { out += try sweep.step(until: .infinity) }
        return out
    }

    /// One pass of `run`, done a slice at a time. The daemon steps it once per
    /// turn of its loop, so a spool of 10,000 records (about 70 µs each) never
    /// holds up the next job for the whole pass, only for one slice.
    ///
    /// What is swept is listed when the pass starts: the finished jobs, then the
    /// status records (one whose job is gone is removed after an hour); the dead
    /// letters and the stale temps go in the last step.
    public final class Sweep {
        public let retention: Retention
        public let dryRun: Bool
        public let now: Double
        private enum Item { case job(JobID, JobState), status(String) }
        private var items: [Item] = []
        private var next = 0
        public private(set) var isFinished = false

        public init(_ retention: Retention, dryRun: Bool, now: Double = Clock.now()) throws(SystemError) {
            self.retention = retention
            self.dryRun = dryRun
            self.now = now
            for state in [JobState.completed, .failed, .cancelled] {
                items += try retention.spool.ids(in: state).map { Item.job($0, state) }
            }
            items += try Sys.listDirectory(retention.spool.path("status")).sorted().map(Item.status)
        }

        /// Sweeps jobs and status records until `deadline` (CLOCK_MONOTONIC
        /// seconds; at least one), then, when none is left, the last step.
        /// Returns what went.
        public func step(until deadline: Double) throws(SystemError) -> [Removal] {
            guard !isFinished else { return [] }
            var out: [Removal] = []
            let first = next
            while next < items.count, next == first || deadline == .infinity || Clock.monotonic() < deadline {
                switch items[next] {
                case .job(let id, let state): try retention.sweep(id, state, now: now, dryRun: dryRun, into: &out)
                case .status(let name): try retention.sweepStatus(name, now: now, dryRun: dryRun, into: &out)
                }
                next += 1
            }
            if next == items.count {
                try retention.sweepRest(now: now, dryRun: dryRun, into: &out)
                isFinished = true
            }
            return out
        }
    }

    /// A status record whose job file is gone (a crash between the two unlinks of a record).
    fileprivate func sweepStatus(_ name: String, now: Double, dryRun: Bool, into out: inout [Removal]) throws(SystemError) {
        guard name.hasSuffix(".json"), let id = JobID(String(name.dropLast(5))) else { return }
        let p = spool.sidecarPath(id)
        guard let st = Sys.fileStatus(p), now - Double(st.st_mtim.tv_sec) > 3600, spool.state(of: id) == nil else { return }
        if !dryRun { try Sys.unlink(p) }
        out.append(Removal(kind: .record, path: p, id: id, reason: "a status record without a job, older than an hour"))
    }

    /// Dead letters past keepFailedFor, and stale temps.
    fileprivate func sweepRest(now: Double, dryRun: Bool, into out: inout [Removal]) throws(SystemError) {
        let deadLetters = spool.path("dead-letter")
        if let keep = settings.keepFailedFor, Sys.exists(deadLetters) {
            for name in try Sys.listDirectory(deadLetters).sorted() {
                let p = deadLetters + "/" + name
                guard let st = Sys.fileStatus(p), (st.st_mode & S_IFMT) == S_IFREG else { continue }
                let age = now - Retention.mtime(st)
                guard age >= keep else { continue }
                if !dryRun { try Sys.unlink(p) }
                out.append(Removal(kind: .deadLetter, path: p, id: JobID(String(name.prefix { $0 != "." })),
                                   reason: "a webhook dead-lettered \(TimeSpan.describe(age.rounded(.down))) ago (keepFailedFor \(TimeSpan.describe(keep)))"))
            }
        }
        var checker = SpoolChecker(spool: spool, settings: SpoolSettings(), runningAreOrphans: false)
        checker.staleTempSeconds = staleTempSeconds
        for (p, problem) in try checker.staleTemps(now: now) {
            if !dryRun { try Sys.unlink(p) }
            out.append(Removal(kind: .staleTemp, path: p, id: nil, reason: "a temp " + problem))
        }
    }

    fileprivate func sweep(_ id: JobID, _ state: JobState, now: Double, dryRun: Bool, into out: inout [Removal]) throws(SystemError) {
        let jobFile = spool.jobPath(id, state)
        let record = StatusSidecar.read(id, in: spool)
        guard let ended = record?.finishedAt ?? Sys.fileStatus(spool.sidecarPath(id)).map(Retention.mtime)
                ?? Sys.fileStatus(jobFile).map(Retention.mtime) else { return }
        let age = now - ended
        let job = try? spool.readJob(id, state)

        if let job {
            let temp = Spool.tempOutputPath(for: job, id: id)
            if let st = Sys.fileStatus(temp), now - Retention.mtime(st) > staleTempSeconds {
                if !dryRun { try Sys.removeOutput(temp) }
                out.append(Removal(kind: .strayOutputTemp, path: temp, id: id,
                                   reason: "a partial output of a \(state.rawValue) job, older than \(TimeSpan.describe(staleTempSeconds))"))
            }
        }
        if state == .completed, let keep = settings.keepOutputFor, age >= keep, let job, let bytes = record?.output.bytes,
           OutputMatch.isUnchanged(job.output, bytes: bytes, endedAt: ended + Retention.endSlack) {
            if !dryRun { try OutputMatch.remove(job.output) }
            out.append(Removal(kind: .output, path: job.output, id: id,
                               reason: "the output of a job completed \(TimeSpan.describe(age.rounded(.down))) ago (keepOutputFor \(TimeSpan.describe(keep)))"))
        }

        var keep = state == .completed ? settings.keepCompletedFor : settings.keepFailedFor
        // While its output may still expire, a completed job's record (its recorded size) is kept.
        if state == .completed, let k = keep, let o = settings.keepOutputFor { keep = max(k, o) }
        guard let keep, age >= keep else { return }
        let setting = state == .completed ? "keepCompletedFor" : "keepFailedFor"
        let reason = "the record of a job \(state.rawValue) \(TimeSpan.describe(age.rounded(.down))) ago (\(setting) \(TimeSpan.describe(keep)))"
        if !dryRun {
            // The job file first: if it has left this directory (retried), the record stays.
            do { try Sys.unlink(jobFile, missingOK: false) } catch {
                if error.errno == ENOENT { return }
                throw error
            }
        }
        out.append(Removal(kind: .record, path: jobFile, id: id, reason: reason))
        let sidecar = spool.sidecarPath(id)
        if Sys.exists(sidecar) {
            if !dryRun { try Sys.unlink(sidecar) }
            out.append(Removal(kind: .record, path: sidecar, id: id, reason: reason))
        }
        // Its idempotency key entry (KeyIndex), if it still names this job: a new submit of the key makes a new job.
        if let key = job?.idempotencyKey {
            let index = KeyIndex(spool: spool), name = KeyIndex.entryName(key: key, userHash: job?.userHash)
            if index.lookup(name) == id {
                if !dryRun {
                    let lock = try index.lock()
                    if index.lookup(name) == id { index.remove(name) }
                    withExtendedLifetime(lock) {}
                }
                out.append(Removal(kind: .record, path: index.entryPath(name), id: id, reason: reason))
            }
        }
    }

    static func mtime(_ st: stat) -> Double { Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 }
}

/// Whether a published output is still the one its job wrote, and its removal
/// without following a symlink anywhere on the way.
enum OutputMatch {
    /// True when `path` (absolute, with no symlink among its directories) is a
    /// regular file of `bytes` bytes, or a folder holding only regular files that
    /// add up to `bytes` (a carousel), and nothing in it was modified after `endedAt`.
    static func isUnchanged(_ path: String, bytes: Int64, endedAt: Double) -> Bool {
        let dir = PathRules.directory(of: path)
        guard path.hasPrefix("/"), let real = realpath(dir, nil) else { return false }
        defer { free(real) }
        guard String(cString: real) == dir, let st = Sys.fileStatus(path) else { return false }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            return Int64(st.st_size) == bytes && Retention.mtime(st) <= endedAt
        case S_IFDIR:
            guard let names = try? Sys.listDirectory(path) else { return false }
            var total: Int64 = 0
            for name in names {
                guard let f = Sys.fileStatus(path + "/" + name), (f.st_mode & S_IFMT) == S_IFREG,
                      Retention.mtime(f) <= endedAt else { return false }
                total += Int64(f.st_size)
            }
            return total == bytes
        default:
            return false
        }
    }

    /// Unlinks a file, or a folder's regular files and then the folder, by
    /// names relative to descriptors opened with O_NOFOLLOW.
    static func remove(_ path: String) throws(SystemError) {
        let parent = PathRules.directory(of: path), name = PathRules.basename(of: path)
        let pfd = try Sys.open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { Glibc.close(pfd) }
        var st = stat()
        guard fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("stat", path)
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            guard (st.st_mode & S_IFMT) == S_IFREG else { return }
            if unlinkat(pfd, name, 0) != 0 && errno != ENOENT { throw SystemError("unlink", path) }
            return
        }
        let dfd = try Sys.openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { Glibc.close(dfd) }
        let lfd = dup(dfd)
        guard lfd >= 0, let dir = fdopendir(lfd) else { if lfd >= 0 { Glibc.close(lfd) }; throw SystemError("opendir", path) }
        var names: [String] = []
        while let e = readdir(dir) {
            let entry = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if entry != "." && entry != ".." { names.append(entry) }
        }
        closedir(dir)
        for entry in names {
            var f = stat()
            guard fstatat(dfd, entry, &f, AT_SYMLINK_NOFOLLOW) == 0, (f.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlinkat(dfd, entry, 0) != 0 && errno != ENOENT { throw SystemError("unlink", path + "/" + entry) }
        }
        // Fails (ENOTEMPTY) if anything that is not the job's appeared meanwhile: left alone then.
        if unlinkat(pfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && errno != ENOTEMPTY { throw SystemError("rmdir", path) }
    }
}
