import Glibc

/// The spool-wide switches `pause`, `resume` and `drain` set: empty files in
/// `SPOOL/control/`, so they outlive the daemon that obeys them.
///
/// - `paused`: the daemon finishes the job in hand and starts no other.
/// - `draining`: `submit` refuses new jobs (exit 75); the daemon renders what
///   is queued, then removes the file and exits 0.
public struct QueueControl: Sendable, Equatable {
    public enum Switch: String, Sendable, CaseIterable {
        case paused, draining
    }

    public var paused = false
    public var draining = false

    public init(paused: Bool = false, draining: Bool = false) {
        self.paused = paused
        self.draining = draining
    }

    /// The switches as they are in `spool` now.
    public init(spool: Spool) {
        paused = Sys.exists(spool.controlPath(.paused))
        draining = Sys.exists(spool.controlPath(.draining))
    }

    /// Turns one switch on (creates its file, durably) or off (removes it).
    public static func set(_ s: Switch, _ on: Bool, in spool: Spool) throws(SystemError) {
        try spool.ensureLayout()
        let p = spool.controlPath(s)
        if on {
            do {
                let fd = try Sys.open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
                try Sys.close(fd, path: p)
            } catch {
                if error.errno != EEXIST { throw error }
                return
            }
        } else {
            guard Sys.exists(p) else { return }
            try Sys.unlink(p)
        }
        try Sys.fsyncDirectory(spool.path("control"))
    }
}

extension Spool {
    public func controlPath(_ s: QueueControl.Switch) -> String { root + "/control/" + s.rawValue }
}
