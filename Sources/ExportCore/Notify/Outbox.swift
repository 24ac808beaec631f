import Glibc

/// `SPOOL/outbox/`: notifications (hooks, webhooks) of finished jobs, one
/// file each, written durably before the job leaves `running/` and removed
/// once delivered; `SPOOL/dead-letter/` keeps webhooks that ran out of attempts.
///
/// Delivery is at least once: a daemon killed after a hook ran or a webhook
/// was accepted, but before the entry was removed, delivers it again at its
/// next start (with the same delivery id).
public struct Outbox: Sendable {
    public let spool: Spool
    public var directory: String { spool.path("outbox") }
    public var deadLetterDirectory: String { spool.path("dead-letter") }

    public init(spool: Spool) { self.spool = spool }

    /// The notifications a job ending with `record` gets: the spool's hook for
    /// its state, the job's own hook (when allowed, and only for a job file
    /// owned by the daemon's user) and its webhook.
    func entries(for record: StatusSidecar, jobFile: String, settings: SpoolSettings) -> [OutboxEntry] {
        var out: [OutboxEntry] = []
        if let argv = settings.notifications.hooks.commands[record.state] { out.append(OutboxEntry(record: record, target: .hook(argv: argv, spoolWide: true))) }
        guard let bytes = try? Sys.readFile(jobFile, limit: Job.maxStoredBytes),
              let job = try? JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false).decode(bytes, name: jobFile) else { return out }
        if settings.runsJobHooks, let argv = job.hooks.commands[record.state], Sys.fileStatus(jobFile)?.st_uid == geteuid() {
            out.append(OutboxEntry(record: record, target: .hook(argv: argv, spoolWide: false)))
        }
        if let url = job.notify { out.append(OutboxEntry(record: record, target: .webhook(url: url.description))) }
        return out
    }

    /// Queues the notifications of a job that ended with `record` (its file at `jobFile`), durably.
    /// Queuing the same ones again (a conclusion repeated after a crash) changes nothing.
    public func enqueue(for record: StatusSidecar, jobFile: String) throws(SystemError) {
        let settings = (try? spool.settings()) ?? SpoolSettings()
        let entries = entries(for: record, jobFile: jobFile, settings: settings)
        guard !entries.isEmpty else { return }
        try Sys.mkdir(directory)
        for e in entries { try write(e, into: directory, replace: false) }
        try Sys.fsyncDirectory(directory)
    }

    /// Entry names in the outbox, oldest job first.
    public func names() -> [String] {
        ((try? Sys.listDirectory(directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    public func read(_ name: String, in dir: String? = nil) -> OutboxEntry? {
        guard let bytes = try? Sys.readFile((dir ?? directory) + "/" + name, limit: 1 << 20),
              let v = try? JSONParser.parse(bytes) else { return nil }
        return OutboxEntry(json: v)
    }

    /// Rewrites an entry after a failed attempt (not fsynced: losing the count to a crash only retries sooner).
    func update(_ e: OutboxEntry) throws(SystemError) {
        try write(e, into: directory, replace: true, durable: false)
    }

    func remove(_ e: OutboxEntry) {
        try? Sys.unlink(directory + "/" + e.delivery + ".json")
    }

    /// Moves an entry that ran out of attempts to `dead-letter/`, with its
    /// attempt count reset so that moving it back to `outbox/` delivers it afresh.
    func deadLetter(_ e: OutboxEntry) throws(SystemError) {
        var dead = e
        dead.nextAttemptAt = nil
        try Sys.mkdir(deadLetterDirectory)
        try write(dead, into: deadLetterDirectory, replace: true)
        try Sys.fsyncDirectory(deadLetterDirectory)
        remove(e)
    }

    /// Moves an unreadable file out of the way, so it is neither retried nor lost.
    func deadLetter(unreadable name: String) {
        try? Sys.mkdir(deadLetterDirectory)
        try? Sys.rename(directory + "/" + name, deadLetterDirectory + "/" + name)
    }

    private func write(_ e: OutboxEntry, into dir: String, replace: Bool, durable: Bool = true) throws(SystemError) {
        let final = dir + "/" + e.delivery + ".json"
        // The daemon's two threads write different entries, but never through the same temp name.
        let tmp = spool.path("tmp/outbox-\(replace ? "u" : "n")-\(e.delivery).\(getpid())")
        try? Sys.unlink(tmp)
        let fd = try Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        do {
            try Sys.writeAll(fd, Array((e.json().jsonText() + "\n").utf8), path: tmp)
            if durable { try Sys.fsync(fd, path: tmp) }
        } catch { Glibc.close(fd); try? Sys.unlink(tmp); throw error }
        do { try Sys.close(fd, path: tmp) } catch { try? Sys.unlink(tmp); throw error }
        do {
            if replace { try Sys.rename(tmp, final) } else { try Sys.renameNoReplace(tmp, final) }
        } catch {
            try? Sys.unlink(tmp)
            if !(error.errno == EEXIST && !replace) { throw error }
        }
    }
}
