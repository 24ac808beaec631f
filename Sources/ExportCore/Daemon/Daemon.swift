import CSpoolSys
import Glibc

/// Renders the spool's jobs one at a time until stopped.
///
/// Single-threaded: one poll(2) over a signalfd, an inotify descriptor and
/// the running child's event pipe. Its memory is a cache of the spool; every
/// decision is a rename in the spool, so killing it at any moment loses nothing.
public final class Daemon {
    public struct Options: Sendable {
        /// Exit once the queue is empty (for cron).
        public var once = false
        /// Renderer binary to spawn per job.
        public var renderer = RenderChild.rendererPath()
        /// Delete temps in tmp/ older than this many seconds at start-up.
        public var staleTempSeconds: Double = 36 * 3600
        public init() {}
    }

    private struct Running {
        var id: JobID
        var job: Job
        var policy: RetryPolicy
        var child: RenderChild
        var record: StatusSidecar
        var temp: String
        var startedMono: Double
        var lastWrite: Double
    }

    /// Seconds past its deadline a render that has not stopped itself is killed.
    static let deadlineGrace = 1.0

    /// The sidecar stage written just before an output is renamed into place.
    static let publishingStage = "publishing"

    public let spool: Spool
    public let options: Options
    private var settings = SpoolSettings()
    /// On a shared spool: the user the job in hand belongs to and renders as (nil: the daemon's own).
    private var renderOwner: uid_t?
    private var pending = PendingQueue()
    /// Queued jobs that may not start yet, with when (monotonic) to look again and why.
    private var deferred: [JobID: Deferral] = [:]
    /// The scheduling fields of queued jobs (a job file never changes while it waits).
    private var schedules: [JobID: JobSchedule] = [:]
    /// Priorities set by `exportctl priority` (`priority/ID`).
    private var overrides: [JobID: Int] = [:]
    /// `pause` and `drain`, from `control/`.
    private var control = QueueControl()
    /// Jobs whose state change after the render failed, retried until written.
    private var stranded = StrandedJobs()
    private var current: Running?
    private var stopping = false
    private var lastRescan = 0.0
    private var log: (String) -> Void
    private lazy var upkeep = Upkeep(spool: spool, log: log)

    public init(spool: Spool, options: Options = Options(), log: @escaping (String) -> Void = { Sys.print($0 + "\n", fd: 2) }) {
        self.spool = spool
        self.options = options
        self.log = log
    }

    /// Runs until SIGTERM/SIGINT (or, with `once`, until the queue is empty).
    public func run() throws(SpoolError) {
        do { settings = try spool.settings() } catch { throw .settings(error) }
        // Only root can hand a shared spool's jobs to their submitters and render as them.
        if settings.sharedGroup != nil && geteuid() != 0 {
            throw .settings(JobError(file: spool.path("settings.json"), field: "sharedGroup", message: "a shared spool's daemon must run as root (this one is uid \(geteuid()))"))
        }
        do { try spool.ensureLayout() } catch { throw .system(error) }
        guard access(options.renderer, X_OK) == 0 else {
            throw .system(SystemError("cannot run the renderer", options.renderer, errno: errno))
        }
        let lock = try SpoolLock.acquire(spool)
        defer { withExtendedLifetime(lock) {} }

        var signals: [Int32] = [SIGTERM, SIGINT, SIGCHLD, SIGHUP]
        var oldMask = sigset_t()
        let sigfd = cspoolsys_signalfd_for(&signals, Int32(signals.count), &oldMask)
        if sigfd < 0 { throw .system(SystemError("signalfd")) }
        defer { Glibc.close(sigfd); sigprocmask(SIG_SETMASK, &oldMask, nil) }

        if let name = settings.sharedGroup {
            guard let gid = SharedSpool.group(named: name) else {
                throw .settings(JobError(file: spool.path("settings.json"), field: "sharedGroup", message: "no group '\(name)' on this machine"))
            }
            do { try SharedSpool.prepare(spool, group: gid) } catch { throw .system(error) }
        }
        do { try recover() } catch { throw .system(error) }
        // Hooks and webhooks: delivered from SPOOL/outbox/ on a thread of their own.
        let notifier = Notifier(spool: spool)
        notifier.start()
        defer { notifier.stop(drain: !stopping) }  // --once or a drain: deliver what is due first
        let watcher: DirectoryWatcher
        // Watch first, then scan: a job arriving in between is seen by one or the other.
        do {
            let drop = SharedSpool.isShared(spool) ? [spool.path(SharedSpool.dropDirectory)] : []
            watcher = try DirectoryWatcher(directories: [spool.path("queue"), spool.path("cancel"), spool.path("priority"), spool.path("control")] + drop,
                                           mask: UInt32(IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE | IN_DELETE))
        } catch { throw .system(error) }
        if !watcher.isReliable { log("note: \(spool.root) is on a network filesystem; polling every second") }
        rescan()
        log("exportctl daemon \(getpid()) watching \(spool.root)" + (options.once ? " (until the queue is empty)" : "")
            + (control.paused ? "; paused" : "") + (control.draining ? "; draining" : ""))

        while true {
            if current == nil && !stopping {
                for id in stranded.retryDue(spool: spool, settings: settings, log: log) { enqueue(id) }
                startNext()
                if current == nil && (options.once || control.draining) && finishedQueue() {
                    rescan()
                    if finishedQueue() {
                        if control.draining && !options.once {
                            do { try QueueControl.set(.draining, false, in: spool) } catch { log("cannot remove \(spool.controlPath(.draining)): \(error)") }
                            log("exportctl daemon \(getpid()): the queue is drained")
                        }
                        break
                    }
                    continue
                }
            }
            if stopping && current == nil { break }

            // Retention sweep and metrics file (Upkeep.swift), then sleep no longer than they allow.
            upkeep.tick(settings.upkeep)
            var fds = [pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0)]
            if let c = current, !c.child.eofSeen { fds.append(pollfd(fd: c.child.eventFD, events: Int16(POLLIN), revents: 0)) }
            let now = Clock.monotonic()
            var timeout: Double = current != nil ? 0.25 : max(0, lastRescan + settings.rescanSeconds - now)
            if current == nil && !control.paused, let due = deferred.values.map(\.due).min() { timeout = min(timeout, max(0, due - now)) }
            if let due = stranded.nextDue { timeout = min(timeout, max(0, due - now)) }
            if !watcher.isReliable { timeout = min(timeout, 1) }
            timeout = min(timeout, upkeep.secondsUntilDue(settings.upkeep))
            let n = poll(&fds, nfds_t(fds.count), Int32(min(timeout, 3600) * 1000))
            if n < 0 && errno != EINTR { throw .system(SystemError("poll")) }

            if fds[0].revents != 0 { handleSignals(sigfd) }
            if fds[1].revents != 0 { handleEvents(watcher) }
            if watcher.needsRescan { watcher.clearRescan(); rescan() }
            if current != nil { pumpChild() }
            if let c = current, let limit = c.policy.timeout, Clock.monotonic() - c.startedMono > limit + Daemon.deadlineGrace {
                timeOutCurrent(limit)
            }
            if current == nil, Clock.monotonic() >= lastRescan + settings.rescanSeconds || !watcher.isReliable { rescan() }
        }
        upkeep.tick(settings.upkeep)  // the metrics file shows the last job's end
        log("exportctl daemon \(getpid()) stopped")
    }

    // MARK: - start-up recovery

    /// `exportctl fsck --repair` under the lock: puts orphans of a crash back
    /// in the queue (counting the attempt), finishes ones whose completion was
    /// durable, sweeps stale temps and repairs a torn analytics line.
    func recover() throws(SystemError) {
        var checker = SpoolChecker(spool: spool, settings: settings, runningAreOrphans: true)
        checker.staleTempSeconds = options.staleTempSeconds
        for finding in try checker.run(repair: true) { log("recovery: \(finding)") }
    }

    // MARK: - the queue

    /// Rebuilds the cache of the queue from the directory, acts on cancel
    /// requests inotify may have missed, and rereads settings.json.
    private func rescan() {
        lastRescan = Clock.monotonic()
        if SharedSpool.isShared(spool) {
            for name in ((try? Sys.listDirectory(spool.path(SharedSpool.dropDirectory))) ?? []).sorted() {
                SharedSpool.takeIn(name, spool: spool, settings: settings, log: log)
            }
        }
        control = QueueControl(spool: spool)
        readOverrides()
        if let ids = try? spool.ids(in: .queued) {
            let present = Set(ids)
            deferred = deferred.filter { present.contains($0.key) }
            schedules = schedules.filter { present.contains($0.key) }
            pending.replace(with: ids.filter { deferred[$0] == nil }.map { ($0, priority(of: $0)) })
        }
        for name in (try? Sys.listDirectory(spool.path("cancel"))) ?? [] {
            if let id = JobID(name) { handleCancelRequest(id) }
        }
        do { settings = try spool.settings() } catch {
            log("settings.json ignored, keeping the previous settings: \(error)")
        }
    }

    private func handleEvents(_ watcher: DirectoryWatcher) {
        for e in watcher.read() {
            if e.directory.hasSuffix("/" + SharedSpool.dropDirectory) {
                if let id = SharedSpool.takeIn(e.name, spool: spool, settings: settings, log: log) { enqueue(id) }
            } else if e.directory.hasSuffix("/queue") {
                if e.name.hasSuffix(".json"), let id = JobID(String(e.name.dropLast(5))) { enqueue(id) }
            } else if e.directory.hasSuffix("/priority") {
                if let id = JobID(e.name) { priorityChanged(id) }
            } else if e.directory.hasSuffix("/control") {
                let was = control
                control = QueueControl(spool: spool)
                if control != was { log("exportctl daemon: " + (control.paused ? "paused" : "running") + (control.draining ? ", draining" : "")) }
            } else if let id = JobID(e.name) {
                handleCancelRequest(id)
            }
        }
    }

    private func handleCancelRequest(_ id: JobID) {
        // On a shared spool only the job's owner (or the daemon's user) may cancel it.
        if SharedSpool.isShared(spool) {
            guard let asker = Sys.fileStatus(spool.cancelPath(id))?.st_uid else { return }  // gone: handled already
            if asker != geteuid(), let owner = SharedSpool.owner(of: id, in: spool), owner != asker {
                log("\(id): cancel request by uid \(asker) refused: the job belongs to uid \(owner)")
                try? Sys.unlink(spool.cancelPath(id))
                return
            }
        }
        if current?.id == id {
            stopCurrent(as: .cancelled, code: "cancelled", message: "cancelled while rendering")
        } else {
            _ = try? spool.cancelQueued(id)
        }
        try? Sys.unlink(spool.cancelPath(id))
    }

    private func handleSignals(_ sigfd: Int32) {
        var info = signalfd_siginfo()
        while Glibc.read(sigfd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGTERM, SIGINT:
                if !stopping { log("exportctl daemon: stopping (signal \(info.ssi_signo))") }
                stopping = true
                if current != nil { requeueCurrent() }
            case SIGHUP:
                rescan()
            default:
                break  // SIGCHLD: pumpChild reaps
            }
        }
    }

    /// Claims the first queued job (by priority, then id) that may start now
    /// and starts its render; none while paused.
    private func startNext() {
        if control.paused { return }
        let now = Clock.monotonic()
        for (id, d) in deferred where d.due <= now {
            deferred[id] = nil
            enqueue(id)
        }
        while current == nil, let id = pending.popFirst() {
            if deferred[id] != nil { continue }
            if let nb = schedule(of: id).notBefore {
                let wait = nb - Clock.now()
                // Looked at again at least every minute, so a clock set forward or back is noticed.
                if wait > 0 { deferred[id] = Deferral(due: now + min(wait, 60), why: .notBefore); continue }
            }
            if let wait = retryDelay(id), wait > 0 {
                deferred[id] = Deferral(due: now + wait, why: .retry)
                continue
            }
            if let job = try? spool.readJob(id, .queued), let why = DiskAdmission.refusal(for: job, marginMB: settings.diskMarginMB) {
                deferForDisk(id, job, why)
                continue
            }
            if let r = claim(id) { current = r }
        }
    }

    /// Seconds until a job that failed transiently may run again, from its
    /// sidecar's wall-clock `nextAttemptAt`; a clock that jumped back by more
    /// than the longest backoff does not hold the job for hours.
    private func retryDelay(_ id: JobID) -> Double? {
        guard let at = StatusSidecar.read(id, in: spool)?.nextAttemptAt else { return nil }
        let wait = at - Clock.now()
        return wait > SpoolSettings.maxBackoff ? 0 : wait
    }

    private func claim(_ id: JobID) -> Running? {
        let src = spool.jobPath(id, .queued)
        let fd: Int32
        do { fd = try Sys.open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) } catch {
            if error.errno != ENOENT {
                // Too many open files, an I/O error: say so and try again later (it was silent until the next rescan).
                log("\(id) cannot be claimed: \(error)")
                deferred[id] = Deferral(due: Clock.monotonic() + max(1, settings.retryBackoffSeconds), why: .claim)
            }
            return nil
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let sane = (st.st_mode & S_IFMT) == S_IFREG && st.st_nlink == 1 && st.st_size <= Job.maxStoredBytes
        do {
            try Sys.rename(src, spool.jobPath(id, .processing))
        } catch {
            if error.errno != ENOENT {
                // A read-only or broken filesystem: try again later, not in a loop.
                log("\(id) cannot be claimed: \(error)")
                deferred[id] = Deferral(due: Clock.monotonic() + max(1, settings.retryBackoffSeconds), why: .claim)
            }
            return nil
        }
        let job: Job
        do {
            guard sane else { throw JobError(file: src, message: "not a regular single-link file of at most 1 MiB") }
            job = try JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false, roots: settings.roots)
                .decode(try Sys.readAll(fd, limit: Job.maxStoredBytes, path: src), name: src)
        } catch {
            var r = StatusSidecar(queued: Job(kind: .mp3, input: "", output: ""), id: id)
            r.state = .failed; r.finishedAt = Clock.now()
            r.error = .init(code: "invalid-job", message: "\(error)")
            _ = try? spool.conclude(r, from: .processing, userHash: nil)
            log("\(id) failed: \(error)")
            return nil
        }
        var record = StatusSidecar.read(id, in: spool) ?? StatusSidecar(queued: job, id: id)
        record.state = .processing
        record.position = nil
        record.attempts += 1
        record.startedAt = Clock.now()
        record.progress = 0
        record.stage = "starting"
        record.error = nil
        record.nextAttemptAt = nil
        record.deferredReason = nil
        record.priority = priority(of: id)
        schedules[id] = nil
        do { try record.write(to: spool, durable: true) } catch {
            // A full disk or an I/O error: put the job back and leave it a
            // while, or the rename back (an inotify event) would claim it again at once.
            let wait = max(1, settings.retryBackoffSeconds)
            log("\(id): cannot record the start (\(error)); putting it back for \(fmt(wait)) s")
            do { try Sys.rename(spool.jobPath(id, .processing), src) } catch {
                stranded.add(id, record: nil, userHash: job.userHash, wait: wait)
            }
            deferred[id] = Deferral(due: Clock.monotonic() + wait, why: .claim)
            return nil
        }
        let temp = Spool.tempOutputPath(for: job, id: id)
        try? Sys.removeOutput(temp)
        let child: RenderChild
        let policy = RetryPolicy(job: job, settings: settings)
        // A shared spool renders a job as the user whose file it is (fstat above); only root can.
        renderOwner = SharedSpool.isShared(spool) && st.st_uid != geteuid() ? st.st_uid : nil
        if let owner = renderOwner, geteuid() != 0 {
            finish(id: id, job: job, record: record, outcome: .failed(code: "permission", message: "this shared spool's daemon runs as uid \(geteuid()) and cannot render as uid \(owner); run it as root", transient: false), temp: temp)
            return nil
        }
        // The child stops itself at the deadline (its interrupt callback); the daemon kills it a second later if it has not.
        let deadline = policy.timeout.map { Clock.monotonic() + $0 }
        do { child = try RenderChild(jobFile: spool.jobPath(id, .processing), tempOutput: temp, renderer: options.renderer,
                                          limits: settings.renderLimits, roots: settings.roots, deadline: deadline, runAs: renderOwner) } catch {
            finish(id: id, job: job, record: record, outcome: .failed(code: "spawn", message: "\(error)", transient: true), temp: temp)
            return nil
        }
        log("\(id) processing (attempt \(record.attempts)): \(job.kind.rawValue) → \(job.output)")
        let running = Running(id: id, job: job, policy: policy, child: child, record: record, temp: temp, startedMono: Clock.monotonic(), lastWrite: Clock.monotonic())
        if Sys.exists(spool.cancelPath(id)) {
            // A cancel request raced the claim.
            current = running
            stopCurrent(as: .cancelled, code: "cancelled", message: "cancelled while rendering")
            try? Sys.unlink(spool.cancelPath(id))
            return nil
        }
        return running
    }

    // MARK: - the job in hand

    /// Applies the child's progress events and finishes the job once it exits.
    private func pumpChild() {
        guard var c = current else { return }
        for e in c.child.readEvents() where e["event"]?.stringValue == "progress" {
            if let p = e["progress"]?.doubleValue { c.record.progress = min(1, max(0, p)) }
            if let s = e["stage"]?.stringValue { c.record.stage = s }
        }
        let now = Clock.monotonic()
        if now - c.lastWrite >= 0.25 {
            try? c.record.write(to: spool, durable: false)
            c.lastWrite = now
        }
        current = c
        if c.child.reap() {
            let outcome = c.child.outcome()
            if case .failed(code: "timeout", _, _) = outcome, let limit = c.policy.timeout {
                timeOutCurrent(limit, stoppedItself: true)
                return
            }
            current = nil
            finish(id: c.id, job: c.job, record: c.record, outcome: outcome, temp: c.temp, started: c.startedMono)
        }
    }

    private func finish(id: JobID, job: Job, record: StatusSidecar, outcome: RenderChild.Outcome, temp: String, started: Double? = nil) {
        var r = record
        let renderSeconds = started.map { Clock.monotonic() - $0 }
        r.finishedAt = Clock.now()
        r.stage = nil
        switch outcome {
        case let .rendered(result):
            do {
                // Durably note what is about to appear, so a crash between the
                // rename and the final sidecar is recognised as done at restart.
                var publishing = record
                publishing.stage = Daemon.publishingStage
                publishing.output.bytes = result["bytes"]?.intValue
                do { try publishing.write(to: spool, durable: true) } catch {
                    // Nothing is published yet: a failure like any other, retried if transient.
                    try? Sys.removeOutput(temp)
                    fail(r, job, code: "io", message: "cannot record the publish: \(error)", transient: error.isTransient, renderSeconds)
                    return
                }
                try Publisher.publish(temp: temp, to: job.output, overwrite: job.overwrite, roots: settings.roots, owner: renderOwner)
                r.state = .completed
                r.progress = 1
                r.output.bytes = result["bytes"]?.intValue
                r.output.slides = result["slides"]?.intValue.map { Int($0) }
                r.output.duration = r.output.slides == nil ? result["duration"]?.doubleValue : nil
                r.mediaSeconds = result["mediaSeconds"]?.doubleValue ?? r.output.duration
                try spool.conclude(r, from: .processing, userHash: job.userHash, renderSeconds: renderSeconds)
                log("\(id) completed: \(job.output)")
            } catch let e as Publisher.Failure {
                try? Sys.removeOutput(temp)
                switch e {
                case let .exists(p): fail(r, job, code: "output-exists", message: "'\(p)' appeared while rendering; set \"overwrite\": true to replace it", transient: false, renderSeconds)
                case let .notOwner(p): fail(r, job, code: "output-exists", message: "'\(p)' belongs to another user; a shared spool never replaces another user's file", transient: false, renderSeconds)
                case let .system(s): fail(r, job, code: "io", message: "cannot publish the output: \(s)", transient: s.isTransient, renderSeconds)
                }
            } catch {
                let wait = max(1, settings.retryBackoffSeconds)
                log("\(id): cannot record completion: \(error); trying again in \(fmt(wait)) s")
                stranded.add(id, record: r, userHash: job.userHash, renderSeconds: renderSeconds, wait: wait)
            }
        case let .failed(code, message, transient):
            try? Sys.removeOutput(temp)
            fail(r, job, code: code, message: message, transient: transient, renderSeconds)
        }
    }

    private func fail(_ record: StatusSidecar, _ job: Job, code: String, message: String, transient: Bool, _ renderSeconds: Double?) {
        var r = record
        let policy = RetryPolicy(job: job, settings: settings)
        r.error = .init(code: code, message: message)
        r.recordAttempt(code: code, message: message)
        if transient && r.attempts < policy.maxAttempts && !stopping {
            let delay = policy.delay(afterAttempts: r.attempts, random: RetryPolicy.random())
            r.state = .deferred
            r.progress = 0
            r.startedAt = nil
            r.finishedAt = nil
            r.stage = "waiting to retry"
            r.nextAttemptAt = r.history.last!.at + delay
            r.deferredReason = "attempt \(r.attempts) of \(policy.maxAttempts) failed (\(code)); next attempt at \(Clock.iso8601(r.nextAttemptAt!))"
            do {
                try r.write(to: spool, durable: true)
                try Sys.rename(spool.jobPath(r.id, .processing), spool.jobPath(r.id, .queued))
                try Sys.fsyncDirectory(spool.path("queue"))
                deferred[r.id] = Deferral(due: Clock.monotonic() + delay, why: .retry)
                log("\(r.id) will be retried in \(fmt((delay * 1000).rounded() / 1000)) s (attempt \(r.attempts) of \(policy.maxAttempts) failed: \(message))")
            } catch {
                let wait = max(1, settings.retryBackoffSeconds)
                log("\(r.id): cannot requeue: \(error); trying again in \(fmt(wait)) s")
                stranded.add(r.id, record: nil, userHash: job.userHash, wait: wait)
            }
            return
        }
        r.state = .failed
        do { try spool.conclude(r, from: .processing, userHash: job.userHash, renderSeconds: renderSeconds) } catch {
            let wait = max(1, settings.retryBackoffSeconds)
            log("\(r.id): cannot record failure: \(error); trying again in \(fmt(wait)) s")
            stranded.add(r.id, record: r, userHash: job.userHash, renderSeconds: renderSeconds, wait: wait)
        }
        log("\(r.id) failed: \(code): \(message)")
    }

    /// Stops the render in hand at its deadline: the whole process group
    /// killed, the temp output removed, and the job retried (with
    /// `retryOnTimeout`) or failed with `timeout`.
    /// - Parameter stoppedItself: the child reached its deadline and exited (already reaped);
    ///   otherwise it is killed, `deadlineGrace` after the deadline.
    private func timeOutCurrent(_ limit: Double, stoppedItself: Bool = false) {
        guard let c = current else { return }
        current = nil
        if !stoppedItself {
            c.child.kill(SIGKILL)
            _ = c.child.reap(blocking: true)
        }
        log("\(c.id) reached its deadline of \(fmt(limit)) s: " + (stoppedItself ? "the render stopped itself" : "the render did not stop by itself and was killed"))
        try? Sys.removeOutput(c.temp)
        var r = c.record
        r.finishedAt = Clock.now()
        r.stage = nil
        let retried = c.policy.retryOnTimeout ? "" : " (set \"retryOnTimeout\": true to retry it)"
        fail(r, c.job, code: "timeout", message: "the render ran longer than \(c.policy.timeoutSource) of \(fmt(limit)) s and was stopped\(retried)",
             transient: c.policy.retryOnTimeout, Clock.monotonic() - c.startedMono)
    }

    /// Kills the render in hand and ends the job as cancelled or failed.
    private func stopCurrent(as state: JobState, code: String, message: String) {
        guard let c = current else { return }
        current = nil
        c.child.kill(SIGKILL)
        _ = c.child.reap(blocking: true)
        try? Sys.removeOutput(c.temp)
        var r = c.record
        r.state = state
        r.stage = nil
        r.finishedAt = Clock.now()
        r.error = .init(code: code, message: message)
        r.recordAttempt(code: code, message: message)
        let renderSeconds = Clock.monotonic() - c.startedMono
        do { try spool.conclude(r, from: .processing, userHash: c.job.userHash, renderSeconds: renderSeconds) } catch {
            let wait = max(1, settings.retryBackoffSeconds)
            log("\(c.id): cannot record \(state.rawValue): \(error); trying again in \(fmt(wait)) s")
            stranded.add(c.id, record: r, userHash: c.job.userHash, renderSeconds: renderSeconds, wait: wait)
        }
        log("\(c.id) \(state.rawValue): \(message)")
    }

    /// On shutdown: stops the render in hand and puts its job back at the
    /// head of the queue without counting the attempt.
    private func requeueCurrent() {
        guard let c = current else { return }
        current = nil
        c.child.kill(SIGTERM)
        let deadline = Clock.monotonic() + 2
        while !c.child.reap() && Clock.monotonic() < deadline { usleep(20_000) }
        if !c.child.reap() { c.child.kill(SIGKILL); _ = c.child.reap(blocking: true) }
        try? Sys.removeOutput(c.temp)
        var r = c.record
        r.state = .queued
        r.attempts = max(0, r.attempts - 1)
        r.progress = 0
        r.startedAt = nil
        r.stage = "requeued at daemon shutdown"
        do {
            try r.write(to: spool, durable: true)
            try Sys.rename(spool.jobPath(c.id, .processing), spool.jobPath(c.id, .queued))
            try Sys.fsyncDirectory(spool.path("queue"))
            log("\(c.id) requeued at shutdown")
        } catch {
            log("\(c.id): cannot requeue at shutdown: \(error); it will be recovered at the next start")
        }
    }

    // MARK: - scheduling

    /// Why a queued job is not started yet.
    private struct Deferral {
        enum Why { case retry, notBefore, disk, claim }
        /// Monotonic time to look at it again.
        var due: Double
        var why: Why
    }

    /// Adds a job that appeared in `queue/` at its place (unless it is deferred).
    private func enqueue(_ id: JobID) {
        guard deferred[id] == nil, Sys.exists(spool.jobPath(id, .queued)) else { return }
        pending.insert(id, priority: priority(of: id))
    }

    /// The scheduling fields of a queued job, read once; defaults if its file is unreadable (the claim fails it).
    private func schedule(of id: JobID) -> JobSchedule {
        if let s = schedules[id] { return s }
        var s = JobSchedule()
        let p = spool.jobPath(id, .queued)
        if let bytes = try? Sys.readFile(p, limit: Job.maxStoredBytes), let root = try? JSONParser.parse(bytes),
           let read = try? JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false).scheduleOptions(root, name: p) {
            s = read
            schedules[id] = s
        }
        return s
    }

    private func priority(of id: JobID) -> Int { overrides[id] ?? schedule(of: id).priority }

    private func readOverrides() {
        overrides = [:]
        for name in (try? Sys.listDirectory(spool.path("priority"))) ?? [] {
            if let id = JobID(name), let p = spool.priorityOverride(id) { overrides[id] = p }
        }
    }

    /// `exportctl priority` wrote or removed `priority/ID`: the job moves to its new place.
    private func priorityChanged(_ id: JobID) {
        overrides[id] = spool.priorityOverride(id)
        if pending.contains(id) { pending.insert(id, priority: priority(of: id)) }
    }

    /// Leaves a job in the queue until its output's filesystem has room,
    /// looking again every second; the reason goes in its sidecar once.
    private func deferForDisk(_ id: JobID, _ job: Job, _ why: String) {
        deferred[id] = Deferral(due: Clock.monotonic() + 1, why: .disk)
        var r = StatusSidecar.read(id, in: spool) ?? StatusSidecar(queued: job, id: id)
        guard r.state != .deferred || r.deferredReason == nil || r.nextAttemptAt != nil else { return }
        // Held or cancelled meanwhile: its record is no longer the daemon's to write.
        guard Sys.exists(spool.jobPath(id, .queued)) else { return }
        r.state = .deferred
        r.nextAttemptAt = nil
        r.deferredReason = why
        r.stage = nil
        try? r.write(to: spool, durable: false)
        log("\(id) deferred: \(why)")
    }

    /// Whether nothing is left for `--once` or a drain to wait for: nothing
    /// may start now and no job waits to be retried. Jobs held, waiting for
    /// their `notBefore` time or for disk space stay queued for a later daemon.
    private func finishedQueue() -> Bool {
        if control.paused { return options.once }
        return pending.isEmpty && stranded.isEmpty && !deferred.values.contains { $0.why == .retry || $0.why == .claim }
    }
}
