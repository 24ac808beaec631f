import CSpoolSys
import Glibc

/// inotify on a few spool directories. Events are hints: callers rescan on
/// overflow and periodically, and on filesystems where inotify sees nothing
/// (NFS, CIFS) `isReliable` is false and callers poll instead.
public final class DirectoryWatcher {
    public struct Event: Sendable {
        public var directory: String
        public var name: String
    }

    public let fd: Int32
    private var watches: [Int32: String] = [:]
    /// Set when the kernel dropped events (IN_Q_OVERFLOW) or a watch was lost.
    public private(set) var needsRescan = false
    public let isReliable: Bool

    public init(directories: [String], mask: UInt32 = UInt32(IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE)) throws(SystemError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd < 0 { throw SystemError("inotify_init1") }
        self.fd = fd
        var reliable = true
        for d in directories {
            let wd = inotify_add_watch(fd, d, mask | UInt32(IN_DELETE_SELF | IN_MOVE_SELF))
            if wd < 0 { let e = SystemError("inotify_add_watch", d); Glibc.close(fd); throw e }
            watches[wd] = d
            var sf = statfs()
            if statfs(d, &sf) == 0 && DirectoryWatcher.networkFilesystems.contains(UInt(bitPattern: Int(sf.f_type))) { reliable = false }
        }
        isReliable = reliable
    }

    /// NFS, SMB/CIFS, SMB2, FUSE (sshfs and friends), 9p: inotify is blind to other clients.
    static let networkFilesystems: Set<UInt> = [0x6969, 0xFF534D42, 0xFE534D42, 0x517B, 0x65735546, 0x01021997]

    /// Reads whatever events are pending (non-blocking).
    public func read() -> [Event] {
        var out: [Event] = []
        let size = 64 * 1024
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buf.deallocate() }
        while true {
            let n = Sys.retry { Glibc.read(fd, buf, size) }
            if n <= 0 { break }
            var off = 0
            while off < n {
                let ev = (buf + off).assumingMemoryBound(to: inotify_event.self)
                let mask = ev.pointee.mask
                if mask & UInt32(IN_Q_OVERFLOW) != 0 || mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                    needsRescan = true
                } else if let dir = watches[ev.pointee.wd] {
                    out.append(Event(directory: dir, name: String(cString: cspoolsys_inotify_name(ev))))
                }
                off += MemoryLayout<inotify_event>.size + Int(ev.pointee.len)
            }
        }
        return out
    }

    public func clearRescan() { needsRescan = false }

    deinit { Glibc.close(fd) }
}
