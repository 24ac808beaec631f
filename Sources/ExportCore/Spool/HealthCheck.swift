import Glibc

/// `exportctl health`: whether this spool can take and render jobs now, and
/// for each thing that is wrong, what to do about it.
///
/// Checks the spool's layout and permissions, settings.json, whether a
/// daemon holds the lock and its pid is alive, free space and inodes on the
/// spool's filesystem, and, by asking the render binary
/// (`exportctl-render --check-system`, as `exportctl` never links FFmpeg),
/// the encoders, muxers and fonts renders need.
public struct HealthCheck {
    public struct Result: Sendable, Equatable {
        /// Which check: `spool`, `settings`, `daemon`, `disk`, `renderer`, `encoders`, `fonts`.
        public var check: String
        public var ok: Bool
        /// What was found (when ok) or what is wrong.
        public var detail: String
        /// What to do about it; nil when ok.
        public var fix: String?
    }

    public let spool: Spool
    /// Whether a running daemon is required (false for a spool served by `daemon --once` from cron).
    public var requireDaemon = true
    /// Least free space on the spool's filesystem, in bytes.
    public var minimumFreeBytes: Int64 = 1 << 30
    public var renderer = RenderChild.rendererPath()
    /// Seconds the render binary may take to answer.
    public var rendererTimeout: Double = 20

    public init(spool: Spool) { self.spool = spool }

    /// Every encoder a render opens, with what needs it (asked of `exportctl-render --check-system`).
    public static let encoders: [(name: String, usedFor: String)] = [
        ("libmp3lame", "mp3 jobs"), ("aac", "mp4 audio"), ("libx264", "mp4 video"),
        ("png", "carousel PNG slides"), ("mjpeg", "carousel JPEG slides and PDF pages"), ("libwebp", "carousel WebP slides"),
    ]
    /// Every muxer a render opens.
    public static let muxers: [(name: String, usedFor: String)] = [("mp3", "mp3 jobs"), ("mp4", "mp4 jobs")]

    public func run() -> [Result] {
        var out: [Result] = []
        func ok(_ check: String, _ detail: String) { out.append(Result(check: check, ok: true, detail: detail, fix: nil)) }
        func bad(_ check: String, _ detail: String, _ fix: String) { out.append(Result(check: check, ok: false, detail: detail, fix: fix)) }

        guard Sys.fileStatus(spool.root) != nil else {
            bad("spool", "there is no spool at \(spool.root)",
                "create it by starting the daemon once (exportctl --spool \(spool.root) daemon --once), or point EXPORTCTL_SPOOL or --spool at the right one")
            return out
        }
        let layout = layoutProblems()
        if layout.isEmpty { ok("spool", "\(spool.root): every directory present, private (0700) and writable") }
        for p in layout { bad("spool", p.0, p.1) }

        var settings = SpoolSettings()
        do { settings = try spool.settings(); ok("settings", Sys.exists(spool.path("settings.json")) ? "settings.json is valid" : "no settings.json (defaults)") } catch {
            bad("settings", "\(error)", "correct \(spool.path("settings.json")) (the daemon refuses to start with it: exit 78)")
        }

        if let d = daemonProblem() { if requireDaemon { bad("daemon", d, "start it: systemctl start exportctl, or exportctl --spool \(spool.root) daemon") } else { ok("daemon", d + " (not required)") } } else {
            ok("daemon", "a daemon holds \(spool.path("daemon.lock")) (pid \(lockHolder() ?? "?"), alive)")
        }

        var vfs = statvfs()
        if statvfs(spool.root, &vfs) == 0 {
            let free = Int64(vfs.f_bavail) * Int64(vfs.f_frsize), files = Int64(vfs.f_favail)
            if free < minimumFreeBytes {
                bad("disk", "\(HealthCheck.mb(free)) MB free on the spool's filesystem, less than \(HealthCheck.mb(minimumFreeBytes)) MB",
                    "free space there (df \(spool.root)); exportctl gc removes expired records and, with keepOutputFor, old outputs")
            } else if vfs.f_files > 0 && files < 1000 {
                bad("disk", "\(files) inodes free on the spool's filesystem", "remove files there (df -i \(spool.root)); exportctl gc removes expired records")
            } else {
                ok("disk", "\(HealthCheck.mb(free)) MB and \(files) inodes free on the spool's filesystem")
            }
        } else {
            bad("disk", "statvfs \(spool.root): \(String(cString: strerror(errno)))", "check that the spool's filesystem is mounted and readable")
        }

        out += renderChecks(fonts: settings.upkeep.fonts)
        return out
    }

    static func mb(_ bytes: Int64) -> Int64 { bytes / (1 << 20) }

    /// What is wrong with the directories and the secret: missing, not a
    /// directory (or a symlink), another owner, open to others, not writable.
    private func layoutProblems() -> [(String, String)] {
        var out: [(String, String)] = []
        let uid = geteuid()
        for (p, isDir, mode) in [(spool.root, true, mode_t(0o700))] + Spool.directories.map({ (spool.path($0), true, mode_t(0o700)) })
            + [(spool.path("secret"), false, mode_t(0o600))] {
            guard let st = Sys.fileStatus(p) else {
                if isDir { out.append(("\(p) is missing", "create it: mkdir -m 700 \(p) (the daemon creates a missing layout when it starts)")) }
                continue
            }
            let type = st.st_mode & S_IFMT
            if isDir && type != S_IFDIR || !isDir && type != S_IFREG {
                out.append(("\(p) is \(type == S_IFLNK ? "a symbolic link" : "not a \(isDir ? "directory" : "regular file")")",
                            "replace it with a real \(isDir ? "directory: rm \(p) && mkdir -m 700 \(p)" : "file (or remove it: a new secret is made, and user hashes change)")"))
                continue
            }
            if st.st_uid != uid {
                out.append(("\(p) belongs to uid \(st.st_uid), not to this user (uid \(uid))",
                            "run health as the daemon's user, or chown \(uid) \(p)"))
            }
            let have = st.st_mode & 0o7777
            if have & ~mode != 0 {
                out.append(("\(p) has mode \(String(have, radix: 8)), which lets others in",
                            "chmod \(String(mode, radix: 8)) \(p) (or exportctl fsck --repair, with no daemon running)"))
            }
            if access(p, (isDir ? W_OK | X_OK : R_OK)) != 0 {
                out.append(("\(p) is not \(isDir ? "writable" : "readable") by this user", "chmod u+rwx \(p), or run as its owner"))
            }
        }
        return out
    }

    /// Nil when a daemon holds the lock and its pid is alive; else what is wrong.
    private func daemonProblem() -> String? {
        guard SpoolLock.isHeld(spool) else { return "no daemon is running on \(spool.root) (nobody holds \(spool.path("daemon.lock")))" }
        guard let text = lockHolder(), let pid = pid_t(text), pid > 0 else {
            return "\(spool.path("daemon.lock")) is locked but holds no pid"
        }
        if kill(pid, 0) != 0 && errno == ESRCH {
            return "\(spool.path("daemon.lock")) is locked but its pid \(pid) is not alive here (a daemon in another pid namespace or container?)"
        }
        return nil
    }

    private func lockHolder() -> String? {
        guard let bytes = try? Sys.readFile(spool.path("daemon.lock"), limit: 64) else { return nil }
        let s = String(decoding: bytes, as: UTF8.self).trimmingNewline
        return s.isEmpty ? nil : s
    }

    /// The render binary runs and has every encoder, muxer and font renders need.
    private func renderChecks(fonts: [String]) -> [Result] {
        let fixRenderer = "reinstall (make install puts it in PREFIX/libexec/exportctl/), or set EXPORTCTL_RENDERER to its path"
        guard access(renderer, X_OK) == 0 else {
            return [Result(check: "renderer", ok: false, detail: "the render program \(renderer) cannot be run: \(String(cString: strerror(errno)))", fix: fixRenderer)]
        }
        let child: RenderChild
        do { child = try RenderChild(arguments: ["--check-system"] + fonts, renderer: renderer) } catch {
            return [Result(check: "renderer", ok: false, detail: "cannot start \(renderer): \(error)", fix: fixRenderer)]
        }
        let deadline = Clock.monotonic() + rendererTimeout
        while !child.reap() {
            if Clock.monotonic() > deadline { child.kill(SIGKILL); _ = child.reap(blocking: true); break }
            var p = pollfd(fd: child.eventFD, events: Int16(child.eofSeen ? 0 : POLLIN), revents: 0)
            _ = poll(&p, 1, 100)
            _ = child.readEvents()
        }
        _ = child.readEvents()
        guard let e = child.finalEvent, e["event"]?.stringValue == "system", child.exitCode == 0 else {
            return [Result(check: "renderer", ok: false,
                           detail: "\(renderer) --check-system gave no answer (exit status \(child.exitCode ?? -1)); an older or broken render program",
                           fix: fixRenderer + "; its errors are on standard error")]
        }
        var out = [Result(check: "renderer", ok: true, detail: "\(renderer) runs" + (e["ffmpeg"]?.stringValue.map { " (FFmpeg \($0))" } ?? ""), fix: nil)]
        var missing: [Result] = []
        for (group, names) in [("encoders", HealthCheck.encoders), ("muxers", HealthCheck.muxers)] {
            for (name, usedFor) in names where e[group]?[name]?.boolValue != true {
                missing.append(Result(check: "encoders", ok: false,
                                      detail: "FFmpeg has no \(name) \(group == "encoders" ? "encoder" : "muxer"), needed for \(usedFor)",
                                      fix: "install an FFmpeg built with it (Debian 12: apt-get install libavcodec59 libavformat59, which have every one)"))
            }
        }
        out += missing.isEmpty ? [Result(check: "encoders", ok: true, detail: HealthCheck.encoders.map(\.name).joined(separator: ", ") + " encoders; "
                                                            + HealthCheck.muxers.map(\.name).joined(separator: ", ") + " muxers", fix: nil)] : missing
        var fontsOK: [String] = []
        if case let .object(families)? = e["fonts"] {
            for (family, installed) in families {
                if installed.boolValue == true { fontsOK.append(family); continue }
                let isDefault = family == TextStyle.defaultFont
                out.append(Result(check: "fonts", ok: false,
                                  detail: "font '\(family)' is not installed" + (isDefault ? " (the default for captions and slide text)" : ", but settings.json names it in fonts"),
                                  fix: isDefault ? "apt-get install fonts-dejavu-core" : "install it (fc-list : family lists the installed families), or remove it from \(spool.path("settings.json"))"))
            }
        }
        if !fontsOK.isEmpty { out.append(Result(check: "fonts", ok: true, detail: "installed: " + fontsOK.joined(separator: ", "), fix: nil)) }
        return out
    }
}
