import Glibc

/// The one-daemon-per-spool lock: flock(LOCK_EX|LOCK_NB) on `SPOOL/daemon.lock`,
/// opened O_CLOEXEC so no render child inherits it. Released by the kernel
/// when the process dies, so there is never a stale pidfile to clean.
public final class SpoolLock {
    public let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock, or throws `.busy` naming the holder's pid.
    public static func acquire(_ spool: Spool) throws(SpoolError) -> SpoolLock {
        let p = spool.path("daemon.lock")
        let fd: Int32
        // Read-only: a file held open for writing would stop the spool's filesystem
        // from being remounted read-only (EBUSY) while the daemon runs.
        do { fd = try Sys.open(p, O_RDONLY | O_CREAT | O_NOFOLLOW, 0o600) } catch { throw .system(error) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            let holder = (try? Sys.readAll(fd, limit: 64)).map { String(decoding: $0, as: UTF8.self).trimmingNewline } ?? ""
            Glibc.close(fd)
            if e == EWOULDBLOCK { throw .busy(holder: "a daemon is already running on it" + (holder.isEmpty ? "" : " (pid \(holder))")) }
            throw .system(SystemError("flock", p, errno: e))
        }
        // The pid, through a descriptor of its own: closing it keeps the flock, which belongs to `fd`.
        if let w = try? Sys.open(p, O_WRONLY | O_TRUNC | O_NOFOLLOW) {
            try? Sys.writeAll(w, Array("\(getpid())\n".utf8), path: p)
            Glibc.close(w)
        }
        return SpoolLock(fd: fd)
    }

    /// Whether some process holds the lock right now (without taking it).
    public static func isHeld(_ spool: Spool) -> Bool {
        guard let fd = try? Sys.open(spool.path("daemon.lock"), O_RDONLY | O_NOFOLLOW) else { return false }
        defer { Glibc.close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return errno == EWOULDBLOCK
    }

    deinit { Glibc.close(fd) }
}

extension String {
    var trimmingNewline: String {
        var s = Substring(self)
        while let l = s.last, l == "\n" || l == "\r" || l == " " { s = s.dropLast() }
        return String(s)
    }
}
