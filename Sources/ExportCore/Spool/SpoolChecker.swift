import Glibc

/// Finds, and with `repair` fixes, what a crash or a careless operator can
/// leave in a spool: `exportctl fsck`, and the daemon's start-up recovery.
///
/// Postfix's `postsuper -s` is the model: every finding names the file, what
/// is wrong and what was done. Files that are not the spool's own (names that
/// do not match the id pattern) are reported, never deleted.
public struct SpoolChecker {
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            case tornLog = "torn-log"
            case orphan
            case duplicate
            case staleTemp = "stale-temp"
            case strayOutputTemp = "stray-output-temp"
            case staleCancel = "stale-cancel"
            case orphanSidecar = "orphan-sidecar"
            case missingSidecar = "missing-sidecar"
            case permissions
            case unknownFile = "unknown-file"
            case staleKey = "stale-key"
            case missingKey = "missing-key"
            case stalePriority = "stale-priority"
        }

        public var kind: Kind
        public var path: String
        /// What is wrong.
        public var problem: String
        /// What was done about it; nil when only found.
        public var action: String?

        public var description: String {
            "\(kind.rawValue): \(path): \(problem)" + (action.map { " (\($0))" } ?? "")
        }
    }

    public let spool: Spool
    public var settings: SpoolSettings
    /// Temps in tmp/ older than this are left by dead processes.
    public var staleTempSeconds: Double = 36 * 3600
    /// Whether jobs in running/ are orphans: true only when no daemon runs.
    public var runningAreOrphans: Bool

    public init(spool: Spool, settings: SpoolSettings, runningAreOrphans: Bool) {
        self.spool = spool
        self.settings = settings
        self.runningAreOrphans = runningAreOrphans
    }

    /// Checks the whole spool; with `repair`, fixes each finding it can.
    public func run(repair: Bool) throws(SystemError) -> [Finding] {
        var found: [Finding] = []
        func note(_ kind: Finding.Kind, _ path: String, _ problem: String, _ action: String? = nil) {
            found.append(Finding(kind: kind, path: path, problem: problem, action: repair ? action : nil))
        }

        // The log first: everything below may append to it.
        let log = AnalyticsLog(path: spool.analyticsPath)
        if let torn = try log.tornBytes(), torn > 0 {
            if repair { try log.repair() }
            note(.tornLog, spool.analyticsPath, "a torn last line of \(torn) bytes", "cut")
        }
        try checkPermissions(repair: repair, note)

        // Each id in exactly one state directory.
        var where_: [JobID: [JobState]] = [:]
        for state in JobState.allCases {
            let dir = spool.path(state.directory)
            // held/ is newer than some spools: none is as good as an empty one.
            if state == .held && !Sys.exists(dir) { continue }
            for name in try Sys.listDirectory(dir) {
                guard name.hasSuffix(".json"), let id = JobID(String(name.dropLast(5))) else {
                    note(.unknownFile, dir + "/" + name, "not a job file; left alone")
                    continue
                }
                where_[id, default: []].append(state)
            }
        }
        for (id, states) in where_ where states.count > 1 {
            let keep = states.max { rank($0) < rank($1) }!
            for s in states where s != keep {
                if repair { try Sys.unlink(spool.jobPath(id, s)) }
                note(.duplicate, spool.jobPath(id, s), "also in \(keep.directory)/", "removed, \(keep.directory)/ kept")
            }
            where_[id] = [keep]
        }

        if runningAreOrphans {
            for id in where_.filter({ $0.value == [.processing] }).keys.sorted() {
                let outcome = repair ? try recoverOrphan(id) : "would be requeued or finished"
                note(.orphan, spool.jobPath(id, .processing), "left in running/ by a daemon that died", outcome)
            }
            if repair { try Sys.fsyncDirectory(spool.path("queue")) }
        }

        // Cancel requests nobody will act on.
        for name in try Sys.listDirectory(spool.path("cancel")) {
            let id = JobID(name)
            let state = id.flatMap { spool.state(of: $0) }
            if state == .processing && !runningAreOrphans { continue }
            if state == .queued && runningAreOrphans, let id {
                if repair { _ = try spool.cancelQueued(id); try Sys.unlink(spool.path("cancel/" + name)) }
                note(.staleCancel, spool.path("cancel/" + name), "a cancel request for a queued job", "job cancelled")
            } else {
                if repair { try Sys.unlink(spool.path("cancel/" + name)) }
                note(.staleCancel, spool.path("cancel/" + name), "a cancel request for a job that is \(state?.rawValue ?? "unknown")", "removed")
            }
        }

        // Priorities set for jobs that are no longer waiting.
        for name in (try? Sys.listDirectory(spool.path("priority"))) ?? [] {
            let id = JobID(name)
            let state = id.flatMap { spool.state(of: $0) }
            if state?.isWaiting == true { continue }
            if state == .processing && !runningAreOrphans { continue }
            if repair { try Sys.unlink(spool.path("priority/" + name)) }
            note(.stalePriority, spool.path("priority/" + name), "a priority for a job that is \(state?.rawValue ?? "unknown")", "removed")
        }
        for name in (try? Sys.listDirectory(spool.path("scheduled"))) ?? [] {
            let id = JobID(name)
            let state = id.flatMap { spool.state(of: $0) }
            if state?.isWaiting == true { continue }
            if state == .processing && !runningAreOrphans { continue }
            if repair { try Sys.unlink(spool.path("scheduled/" + name)) }
            note(.stalePriority, spool.path("scheduled/" + name), "a schedule mark for a job that is \(state?.rawValue ?? "unknown")", "removed")
        }

        // Temps of dead processes.
        for (p, problem) in try staleTemps(now: Clock.now()) {
            if repair { try Sys.unlink(p) }
            note(.staleTemp, p, problem, "removed")
        }

        // Sidecars and output temps, against the jobs that exist now.
        var jobs: [JobID: JobState] = [:]
        for state in JobState.allCases { for id in try spool.ids(in: state) { jobs[id] = state } }  // ids(in:) takes a missing held/ as empty
        for name in try Sys.listDirectory(spool.path("status")) {
            guard name.hasSuffix(".json"), let id = JobID(String(name.dropLast(5))) else { continue }
            if jobs[id] == nil {
                if repair { try Sys.unlink(spool.path("status/" + name)) }
                note(.orphanSidecar, spool.path("status/" + name), "a status record without a job", "removed")
            }
        }
        for (id, state) in jobs.sorted(by: { $0.key < $1.key }) where state != .processing || runningAreOrphans {
            guard let job = try? spool.readJob(id, state) else { continue }
            let temp = Spool.tempOutputPath(for: job, id: id)
            if Sys.exists(temp) {
                if repair { try Sys.removeOutput(temp) }
                note(.strayOutputTemp, temp, "a partial output of a render that is not running", "removed")
            }
            if state.isFinished && StatusSidecar.read(id, in: spool) == nil {
                var r = StatusSidecar(queued: job, id: id)
                r.state = state
                r.progress = state == .completed ? 1 : 0
                r.error = state == .completed ? nil : .init(code: "record-lost", message: "the status record was lost; the job ended \(state.rawValue)")
                if repair { try r.write(to: spool, durable: true) }
                note(.missingSidecar, spool.sidecarPath(id), "a \(state.rawValue) job without a status record", "rebuilt from the job file")
            }
        }
        // The idempotency index against the jobs (see KeyIndex).
        for p in try KeyIndex(spool: spool).check(repair: repair) {
            switch p.kind {
            case .stale: note(.staleKey, p.entry, "an idempotency key entry for a job that is gone" + (p.id.map { " (\($0))" } ?? ""), "removed")
            case .missing: note(.missingKey, p.entry, "job \(p.id.map(\.rawValue) ?? "?") has an idempotencyKey but no entry", "rebuilt from the job file")
            }
        }
        return found
    }

    /// Files in tmp/ left by dead processes, with why each is stale: older than
    /// `staleTempSeconds`, or a status temp when no daemon runs. Shared with `exportctl gc`.
    public func staleTemps(now: Double) throws(SystemError) -> [(path: String, problem: String)] {
        var out: [(path: String, problem: String)] = []
        for name in try Sys.listDirectory(spool.path("tmp")).sorted() {
            let p = spool.path("tmp/" + name)
            guard let st = Sys.fileStatus(p) else { continue }
            let age = now - Double(st.st_mtim.tv_sec)
            let deadStatusTemp = name.hasPrefix("status-") && runningAreOrphans
            if age > staleTempSeconds || deadStatusTemp {
                out.append((p, deadStatusTemp ? "a status temp of a dead process" : "older than \(Int(staleTempSeconds / 3600)) hours"))
            }
        }
        return out
    }

    private func rank(_ s: JobState) -> Int {
        switch s {
        case .queued, .deferred: return 0
        case .held: return 1
        case .processing: return 2
        case .cancelled: return 3
        case .failed: return 4
        case .completed: return 5
        }
    }

    private func checkPermissions(repair: Bool, _ note: (Finding.Kind, String, String, String?) -> Void) throws(SystemError) {
        // A shared spool's folders are open to its group as `SharedSpool.modes` says; nothing else is.
        let shared = SharedSpool.isShared(spool) ? SharedSpool.modes : [:]
        var wanted: [(String, mode_t)] = [(spool.root, shared["."] ?? 0o700), (spool.path("secret"), 0o600)]
        wanted += Spool.directories.map { (spool.path($0), shared[$0] ?? 0o700) }
        if let drop = shared[SharedSpool.dropDirectory] { wanted.append((spool.path(SharedSpool.dropDirectory), drop)) }
        for (p, mode) in wanted {
            guard let st = Sys.fileStatus(p) else { continue }
            let have = st.st_mode & 0o7777
            if have & ~mode != 0 {
                if repair && chmod(p, mode) != 0 { throw SystemError("chmod", p) }
                note(.permissions, p, "mode \(String(have, radix: 8)) lets others in", "set to \(String(mode, radix: 8))")
            }
        }
    }

    /// Finishes or requeues a job a dead daemon left in running/ (or one whose
    /// state change failed, `StrandedJobs`); returns what was done.
    func recoverOrphan(_ id: JobID) throws(SystemError) -> String {
        let job: Job
        do { job = try spool.readJob(id, .processing) } catch {
            var r = StatusSidecar.read(id, in: spool) ?? StatusSidecar(queued: Job(kind: .mp3, input: "", output: ""), id: id)
            r.state = .failed
            r.finishedAt = Clock.now()
            r.error = .init(code: "invalid-job", message: "the stored job file is unreadable: \(error)")
            try spool.conclude(r, from: .processing, userHash: nil)
            return "failed: unreadable job file"
        }
        try? Sys.removeOutput(Spool.tempOutputPath(for: job, id: id))
        var record = StatusSidecar.read(id, in: spool) ?? StatusSidecar(queued: job, id: id)
        // The output was being renamed into place when the daemon died: if
        // it is there with the size recorded just before, the job is done.
        if record.state == .processing, record.stage == Daemon.publishingStage,
           let bytes = record.output.bytes, Sys.outputSize(job.output) == bytes {
            record.state = .completed
            record.stage = nil
            record.progress = 1
            record.finishedAt = record.finishedAt ?? Clock.now()
        }
        if record.state.isFinished && (record.state != .completed || Sys.exists(job.output)) {
            // The final state was decided but the job file had not moved yet.
            try spool.conclude(record, from: .processing, userHash: job.userHash)
            return "recovered as \(record.state.rawValue)"
        }
        let maxAttempts = job.schedule.attempts ?? settings.maxAttempts
        if record.state == .processing {
            record.recordAttempt(code: "interrupted", message: "the daemon stopped during the attempt (killed, or the machine restarted)")
        }
        if record.attempts >= maxAttempts {
            record.state = .failed
            record.finishedAt = Clock.now()
            record.error = .init(code: "interrupted", message: "the render was interrupted \(record.attempts) times (daemon killed or machine restarted); giving up")
            try spool.conclude(record, from: .processing, userHash: job.userHash)
            return "failed: interrupted \(record.attempts) times"
        }
        record.state = .queued
        record.progress = 0
        record.startedAt = nil
        record.output.bytes = nil
        record.stage = "requeued after an interrupted attempt"
        try record.write(to: spool, durable: true)
        try Sys.rename(spool.jobPath(id, .processing), spool.jobPath(id, .queued))
        return record.attempts > 0 ? "requeued after interrupted attempt \(record.attempts)" : "requeued"
    }
}
