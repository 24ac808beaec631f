import CSpoolSys
import Glibc

/// Delivers `SPOOL/outbox/` on a thread of its own, so a slow hook or an
/// unreachable webhook never holds up the daemon's loop or the next render.
///
/// The thread owns the outbox: it runs each hook once, posts each webhook
/// until it is accepted or out of attempts, and writes `SPOOL/notify.log`
/// (every delivery, and the hooks' stdout and stderr). The daemon talks to it
/// only through an eventfd: one write to stop. Entries come from whichever process
/// concludes a job (the daemon, `exportctl cancel`); inotify on `outbox/`
/// wakes the thread, and it looks again every 5 seconds regardless.
public final class Notifier: @unchecked Sendable {
    public let spool: Spool
    private let outbox: Outbox
    /// The daemon's environment when it started, without EXPORTCTL_* (read once, on the calling thread:
    /// the daemon sets variables later, and environ must not be read while it does).
    private let baseEnvironment: [String]
    private var stopFD: Int32 = -1
    private var thread: pthread_t?

    // Touched only by the delivery thread.
    private var settings = NotificationSettings()
    private var stopMode: UInt64 = 0
    private var killAt: Double?

    static let quit: UInt64 = 1, drain: UInt64 = 2
    /// How long a running hook may go on once the daemon is told to stop.
    static let stopGrace = 2.0

    public init(spool: Spool) {
        self.spool = spool
        outbox = Outbox(spool: spool)
        var env: [String] = []
        var e = environ
        while let entry = e.pointee {
            let s = String(cString: entry)
            if !s.hasPrefix("EXPORTCTL_") { env.append(s) }
            e += 1
        }
        baseEnvironment = env
    }

    public var logPath: String { spool.path("notify.log") }
    /// notify.log is renamed to notify.log.1 (the previous one dropped) when it has grown to this, as events.jsonl is.
    public static let logLimit = 8 << 20

    /// notify.log opened for appending (-1 if it cannot be), moved aside first once it has reached `logLimit`.
    private func openLog() -> Int32 {
        if let st = Sys.fileStatus(logPath), Int(st.st_size) >= Notifier.logLimit {
            try? Sys.unlink(logPath + ".1")
            try? Sys.renameNoReplace(logPath, logPath + ".1")
        }
        return (try? Sys.open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600)) ?? -1
    }

    /// Starts the delivery thread. Without it (no thread or pipe to be had) the
    /// outbox simply waits for the next start; rendering goes on.
    public func start() {
        // A hook that exits without reading its stdin must not kill the daemon with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        try? Sys.mkdir(outbox.directory)
        stopFD = cspoolsys_eventfd()
        guard stopFD >= 0 else {
            Sys.print("exportctl daemon: notifications not delivered this run: \(SystemError("eventfd"))\n", fd: 2)
            return
        }
        do { thread = try Sys.startThread { self.loop() } } catch {
            Sys.print("exportctl daemon: notifications not delivered this run: \(error)\n", fd: 2)
        }
    }

    /// Stops the thread and waits for it. With `drain`, what is due now is
    /// delivered first (`daemon --once`); otherwise a running hook gets
    /// two seconds and is then killed (it runs again at the next start).
    public func stop(drain: Bool) {
        guard let t = thread else { return }
        var v = drain ? Notifier.drain : Notifier.quit
        _ = Glibc.write(stopFD, &v, 8)
        pthread_join(t, nil)
        thread = nil
        Glibc.close(stopFD)
    }

    // MARK: - the delivery thread

    private func loop() {
        let watcher = try? DirectoryWatcher(directories: [outbox.directory], mask: UInt32(IN_MOVED_TO | IN_CLOSE_WRITE))
        while true {
            checkStop()
            if stopMode == Notifier.quit { return }
            if let s = try? spool.settings() { settings = s.notifications }
            let next = deliverDue()
            if stopMode != 0 { return }
            var fds = [pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            if let watcher { fds.append(pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), Int32(min(next ?? 5, 5) * 1000) + 1)
            _ = watcher?.read()
        }
    }

    private func checkStop() {
        var v: UInt64 = 0
        if stopMode == 0 && Glibc.read(stopFD, &v, 8) == 8 {
            stopMode = v == Notifier.drain ? Notifier.drain : Notifier.quit
            if stopMode == Notifier.quit { killAt = Clock.monotonic() + Notifier.stopGrace }
        }
    }

    private var mustKill: Bool {
        checkStop()
        return killAt.map { Clock.monotonic() >= $0 } ?? false
    }

    /// Delivers every entry that is due; returns the seconds until the next one is.
    private func deliverDue() -> Double? {
        var next: Double?
        for name in outbox.names() {
            if stopMode == Notifier.quit { break }
            guard let e = outbox.read(name) else {
                if Sys.exists(outbox.directory + "/" + name) {
                    outbox.deadLetter(unreadable: name)
                    note("\(name): not a notification entry; moved to dead-letter/")
                }
                continue
            }
            if let at = e.nextAttemptAt {
                let wait = at - Clock.now()
                // A clock that jumped back by more than the longest backoff does not hold it for hours.
                if wait > 0 && wait <= NotificationSettings.maxBackoff * 1.2 { next = min(next ?? wait, wait); continue }
            }
            switch e.target {
            case let .hook(argv, _): runHook(e, argv)
            case let .webhook(url):
                if let wait = post(e, url) { next = min(next ?? wait, wait) }
            }
        }
        return next
    }

    // MARK: hooks

    private func runHook(_ e: OutboxEntry, _ argv: [String]) {
        let r = e.record
        var env = baseEnvironment
        env += [
            "EXPORTCTL_SPOOL=\(spool.root)", "EXPORTCTL_DELIVERY=\(e.delivery)",
            "EXPORTCTL_ID=\(r.id)", "EXPORTCTL_STATE=\(r.state.rawValue)", "EXPORTCTL_KIND=\(r.kind.rawValue)",
            "EXPORTCTL_INPUT=\(r.input)", "EXPORTCTL_OUTPUT=\(r.output.path)", "EXPORTCTL_ATTEMPTS=\(r.attempts)",
        ]
        if let b = r.output.bytes, r.state == .completed { env.append("EXPORTCTL_BYTES=\(b)") }
        if let d = r.output.duration, r.state == .completed { env.append("EXPORTCTL_DURATION=\(d)") }
        if let s = r.output.slides, r.state == .completed { env.append("EXPORTCTL_SLIDES=\(s)") }
        if let err = r.error { env += ["EXPORTCTL_ERROR_CODE=\(err.code)", "EXPORTCTL_ERROR_MESSAGE=\(err.message)"] }
        let command = ChildCommand(argv: argv, environment: env, directory: spool.root, timeout: settings.hookTimeoutSeconds)
        let fd = openLog()
        defer { if fd >= 0 { Glibc.close(fd) } }
        logLine(fd, "\(e.delivery): running \(argv.map(quoted).joined(separator: " "))")
        let started = Clock.monotonic()
        let outcome = command.run(input: e.body + [0x0a], output: fd >= 0 ? fd : Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC), shouldStop: { mustKill })
        logLine(fd, "\(e.delivery): hook \(outcome) (\(fmt(((Clock.monotonic() - started) * 1000).rounded() / 1000)) s)")
        if outcome == .interrupted { return }
        outbox.remove(e)
        if outcome != .exited(0) { note("\(r.id): the \(r.state.rawValue) hook \(quoted(argv[0])) failed (\(outcome)); the job stays \(r.state.rawValue); see \(logPath)") }
    }

    // MARK: webhooks

    /// Posts one webhook; returns the seconds until its next attempt when it is to be retried.
    private func post(_ e: OutboxEntry, _ urlText: String) -> Double? {
        var result: Result<Int, HTTPPost.Failure>
        if case let .success(url) = WebhookURL.parse(urlText) {
            if let secret = settings.webhookSecret {
                let body = e.body
                let headers: [(String, String)] = [
                    ("Content-Type", "application/json"),
                    ("User-Agent", "exportctl/\(Notifier.version)"),
                    ("X-Exportctl-Event", "job.\(e.record.state.rawValue)"),
                    ("X-Exportctl-Delivery", e.delivery),
                    ("X-Exportctl-Timestamp", String(Int(Clock.now()))),
                    ("X-Exportctl-Signature", "sha256=" + SHA256.hex(SHA256.hmac(key: Array(secret.utf8), message: body))),
                ]
                let request = HTTPPost(url: url, headers: headers, body: body, timeout: settings.webhookTimeoutSeconds)
                if url.secure {
                    result = CurlPost(request: request, caFile: settings.webhookCAFile).send(shouldStop: { mustKill })
                } else {
                    do { result = .success(try request.send()) } catch { result = .failure(error) }
                }
            } else {
                result = .failure(.init(description: "no notifications.webhookSecret in \(spool.path("settings.json")) to sign it with"))
            }
        } else {
            result = .failure(.init(description: "'\(urlText)' is not a usable URL"))
        }
        let fd = openLog()
        defer { if fd >= 0 { Glibc.close(fd) } }
        var entry = e
        entry.attempts += 1
        switch result {
        case let .success(code) where (200...299).contains(code):
            logLine(fd, "\(e.delivery): POST \(urlText): \(code) (attempt \(entry.attempts))")
            outbox.remove(e)
            return nil
        case let .success(code):
            entry.lastError = "HTTP \(code)" + ((300...399).contains(code) ? " (redirects are not followed)" : "")
        case let .failure(f):
            if f.description == CurlPost.interrupted { return nil }
            entry.lastError = f.description
        }
        logLine(fd, "\(e.delivery): POST \(urlText): \(entry.lastError!) (attempt \(entry.attempts) of \(settings.webhookAttempts))")
        if entry.attempts >= settings.webhookAttempts {
            do {
                try outbox.deadLetter(entry)
                note("\(e.record.id): webhook \(urlText) failed \(entry.attempts) times (\(entry.lastError!)); moved to \(outbox.deadLetterDirectory)/\(e.delivery).json")
            } catch {
                note("\(e.record.id): cannot move the webhook to dead-letter/: \(error)")
            }
            return nil
        }
        // Doubling, plus up to a tenth more so that many webhooks to one server spread out.
        let base = settings.backoff(afterAttempts: entry.attempts)
        let delay = base + base * 0.1 * Double(Sys.randomBytes(1)[0]) / 255
        entry.nextAttemptAt = Clock.now() + delay
        do { try outbox.update(entry) } catch { note("\(e.record.id): cannot record the webhook attempt: \(error)") }
        return delay
    }

    static let version = "0.1.0"

    // MARK: log

    private func logLine(_ fd: Int32, _ text: String) {
        guard fd >= 0 else { return }
        try? Sys.writeAll(fd, Array((Clock.iso8601(Clock.now()) + " " + text + "\n").utf8))
    }

    private func note(_ text: String) { Sys.print("exportctl daemon: \(text)\n", fd: 2) }

    private func quoted(_ s: String) -> String {
        s.isEmpty || s.contains(where: { $0 == " " || $0 == "'" || $0 == "\"" }) ? "'" + s.replacingAll("'", "'\\''") + "'" : s
    }
}

extension String {
    fileprivate func replacingAll(_ a: Character, _ b: String) -> String {
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}
