import Glibc

/// A spool directory: jobs as files, their state as the directory they sit in.
///
/// ```
/// SPOOL/tmp/          submit writes here first
/// SPOOL/queue/ID.json waiting (by priority, then FIFO by name)
/// SPOOL/held/ID.json  parked by `exportctl hold`
/// SPOOL/running/      claimed by the daemon
/// SPOOL/done/ failed/ cancelled/
/// SPOOL/status/ID.json  the status sidecar
/// SPOOL/cancel/ID     a cancel request for a running job
/// SPOOL/priority/ID   a priority set by `exportctl priority`
/// SPOOL/control/paused, control/draining  set by pause and drain
/// SPOOL/analytics.jsonl  one line per finished job
/// SPOOL/templates/NAME.json  job templates (made by the user)
/// SPOOL/keys/H        the idempotency index (see KeyIndex)
/// SPOOL/daemon.lock  SPOOL/secret  SPOOL/settings.json
/// ```
public struct Spool: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// The spool to use: `--spool`, else `EXPORTCTL_SPOOL`, else
    /// `/var/spool/exportctl` for root, else `$XDG_STATE_HOME/exportctl/spool`
    /// (`~/.local/state/exportctl/spool`).
    public static func resolve(option: String?, cwd: String) -> Spool {
        if let option, !option.isEmpty { return Spool(root: PathRules.absolute(option, base: cwd)) }
        if let env = getenv("EXPORTCTL_SPOOL"), env.pointee != 0 {
            return Spool(root: PathRules.absolute(String(cString: env), base: cwd))
        }
        if getuid() == 0 { return Spool(root: "/var/spool/exportctl") }
        if let xdg = getenv("XDG_STATE_HOME"), xdg.pointee != 0 {
            return Spool(root: String(cString: xdg) + "/exportctl/spool")
        }
        let home = getenv("HOME").map { String(cString: $0) } ?? "/tmp"
        return Spool(root: home + "/.local/state/exportctl/spool")
    }

    public func path(_ name: String) -> String { root + "/" + name }
    public func jobPath(_ id: JobID, _ state: JobState) -> String { root + "/" + state.directory + "/" + id.rawValue + ".json" }
    public func sidecarPath(_ id: JobID) -> String { root + "/status/" + id.rawValue + ".json" }
    public func cancelPath(_ id: JobID) -> String { root + "/cancel/" + id.rawValue }
    public var analyticsPath: String { root + "/analytics.jsonl" }

    static let directories = ["tmp", "queue", "held", "running", "done", "failed", "cancelled", "status", "cancel", "priority", "scheduled", "control"]

    /// Whether the spool has been created.
    public var exists: Bool { Sys.exists(root + "/queue") }

    /// Creates the layout (mode 0700) and the secret salt if missing, and
    /// makes the new directories durable before any job is put in them.
    public func create() throws(SystemError) {
        try makeParents(root)
        for d in Spool.directories { try Sys.mkdir(path(d)) }
        try Sys.fsyncDirectory(PathRules.directory(of: root))
        _ = try secret()  // fsyncs the spool directory itself
    }

    /// Creates the directories a spool made by an older version lacks.
    public func ensureLayout() throws(SystemError) {
        if !exists { try create(); return }
        var made = false
        for d in Spool.directories where !Sys.exists(path(d)) { try Sys.mkdir(path(d)); made = true }
        if made { try Sys.fsyncDirectory(root) }
    }

    private func makeParents(_ dir: String) throws(SystemError) {
        if Sys.exists(dir) { return }
        let parent = PathRules.directory(of: dir)
        if parent != dir { try makeParents(parent) }
        try Sys.mkdir(dir)
    }

    /// The spool's secret salt for hashing user ids, created on first use (0600).
    public func secret() throws(SystemError) -> [UInt8] {
        let p = path("secret")
        if let bytes = try? Sys.readFile(p, limit: 4096), bytes.count >= 32 { return bytes }
        let tmpName = path("tmp/secret.\(getpid())")
        let fd = try Sys.open(tmpName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        let bytes = Array(SHA256.hex(Sys.randomBytes(32)).utf8)
        do {
            try Sys.writeAll(fd, bytes, path: tmpName)
            try Sys.fsync(fd, path: tmpName)
            try Sys.close(fd, path: tmpName)
        } catch { Glibc.close(fd); try? Sys.unlink(tmpName); throw error }
        // First writer wins; a racing one reads the winner's salt.
        if link(tmpName, p) != 0 && errno != EEXIST { let e = SystemError("link", p); try? Sys.unlink(tmpName); throw e }
        try? Sys.unlink(tmpName)
        try Sys.fsyncDirectory(root)
        return try Sys.readFile(p, limit: 4096)
    }

    /// The user's id hashed with the spool's salt (hex HMAC-SHA256).
    public func hashUser(_ user: String) throws(SystemError) -> String {
        SHA256.hex(SHA256.hmac(key: try secret(), message: Array(user.utf8)))
    }

    public func settings() throws(JobError) -> SpoolSettings {
        let p = path("settings.json")
        guard let bytes = try? Sys.readFile(p, limit: 1 << 20) else { return SpoolSettings() }
        return try SpoolSettings.parse(bytes, name: p)
    }

    /// Ids in one state directory, sorted (oldest first).
    public func ids(in state: JobState) throws(SystemError) -> [JobID] {
        let names: [String]
        do { names = try Sys.listDirectory(root + "/" + state.directory) } catch {
            if error.errno == ENOENT { return [] }
            throw error
        }
        return names.compactMap { n in n.hasSuffix(".json") ? JobID(String(n.dropLast(5))) : nil }.sorted()
    }

    /// Calls `body` with each job in one state directory, in no order, as a
    /// packed id: a scan of 10,000 without a String or a sort per job.
    public func forEachID(in state: JobState, _ body: (JobID.Packed) -> Void) throws(SystemError) {
        let json = Array(".json".utf8)
        do {
            try Sys.forEachName(in: root + "/" + state.directory) { name in
                guard name.count == 25, memcmp(name.baseAddress! + 20, json, 5) == 0,
                      let k = JobID.Packed(UnsafeBufferPointer(rebasing: name[..<20])) else { return }
                body(k)
            }
        } catch {
            if error.errno != ENOENT { throw error }
        }
    }

    /// How many jobs one state directory holds (`ids(in:).count`, without making them).
    public func count(in state: JobState) throws(SystemError) -> Int {
        var n = 0
        try forEachID(in: state) { _ in n += 1 }
        return n
    }

    /// The state a job is in, from the directory its file sits in; nil if unknown.
    public func state(of id: JobID) -> JobState? {
        for s in JobState.allCases where Sys.exists(jobPath(id, s)) {
            return s
        }
        // A job moves between directories by rename; look once more in case it moved under us.
        for s in JobState.allCases where Sys.exists(jobPath(id, s)) {
            return s
        }
        return nil
    }

    /// 1-based place of a queued job in the order the daemon starts them
    /// (priority, then id); nil when it is not queued or may not start yet.
    public func position(of id: JobID) throws(SystemError) -> Int? {
        try QueueSnapshot(spool: self).position(of: id)
    }

    /// Reads the stored job file of `id` in `state`.
    public func readJob(_ id: JobID, _ state: JobState) throws -> Job {
        let p = jobPath(id, state)
        let bytes = try Sys.readFile(p, limit: Job.maxStoredBytes)
        return try JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false).decode(bytes, name: p)
    }

    /// The temp file a render writes beside its output before it is published.
    public static func tempOutputPath(for job: Job, id: JobID) -> String {
        PathRules.directory(of: job.output) + "/." + PathRules.basename(of: job.output) + "." + id.rawValue + ".exportctl-tmp"
    }
}
