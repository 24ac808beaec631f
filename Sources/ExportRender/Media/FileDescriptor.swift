import ExportCore
import Glibc

/// An open file the render owns; `deinit` closes it.
///
/// Every system call ExportRender makes on a file goes through here, retried
/// on EINTR. FFmpeg never opens a path itself: it reads and writes through
/// these descriptors (see `CustomIO`). A failed read, write or seek made on
/// FFmpeg's behalf is remembered in `lastError`, so the caller can tell a full
/// disk from a muxer error when FFmpeg only reports `AVERROR(ENOSPC)`.
final class FileDescriptor {
    let rawValue: Int32
    /// The path it was opened with, for messages.
    let path: String
    /// The last failed system call made through `read`, `write` or `seek`.
    private(set) var lastError: SystemError?
    private var isOpen = true

    private init(rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
    }

    deinit {
        if isOpen { _ = Glibc.close(rawValue) }
    }

    @inline(__always)
    private static func retry<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    /// The spool's input and output roots, set once by the render child's
    /// `main` from `EXPORTCTL_ROOTS` before anything is opened. With roots,
    /// inputs are opened beneath them (`openInput`) and temp outputs created
    /// beneath the output roots (`createExclusive`, `makeDirectory`).
    nonisolated(unsafe) static var roots = PathRoots()

    /// Opens a job's input file: beneath its input root when the spool has
    /// roots (`openat2`, no symbolic links), then like `openForReading`.
    /// - Throws: `.inputUnreadable` naming why (outside the roots, a link, not a regular file…).
    static func openInput(_ path: String) throws(RenderError) -> FileDescriptor {
        let fd: Int32
        do { fd = try roots.open(path, for: .input, flags: O_RDONLY | O_NOCTTY | O_NONBLOCK) } catch let r as PathRoots.Refusal {
            throw .inputUnreadable(path: path, reason: "it " + r.reason, transient: false)
        } catch let e as SystemError {
            throw .inputUnreadable(path: path, reason: e.path == path || e.path == nil ? e.message : "\(e.path!): \(e.message)", transient: e.isTransient)
        } catch {
            throw .inputUnreadable(path: path, reason: "\(error)", transient: false)
        }
        let file = FileDescriptor(rawValue: fd, path: path)
        var st = stat()
        if fstat(fd, &st) != 0 { throw .inputUnreadable(path: path, reason: String(cString: strerror(errno)), transient: false) }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw .inputUnreadable(path: path, reason: (st.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file", transient: false)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return file
    }

    /// Opens a file: `open(O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK)`, then
    /// `fstat` must show a regular file (a FIFO or device is refused before
    /// anything blocks on it), then the descriptor is made blocking again.
    static func openForReading(_ path: String) throws(SystemError) -> FileDescriptor {
        let fd = retry { Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) }
        if fd < 0 { throw SystemError("open", path) }
        let file = FileDescriptor(rawValue: fd, path: path)
        var st = stat()
        if fstat(fd, &st) != 0 { throw SystemError("fstat", path) }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw SystemError("open", path, errno: (st.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return file
    }

    /// Creates a new file that must not exist yet:
    /// `open(O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode)`.
    /// With output roots it is created beneath them (`openat2`, no symbolic link on the way).
    static func createExclusive(_ path: String, mode: mode_t = 0o644) throws(SystemError) -> FileDescriptor {
        if roots.confines(.output) {
            return FileDescriptor(rawValue: try beneathOutputRoot(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode), path: path)
        }
        let fd = retry { Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
        if fd < 0 { throw SystemError("open", path) }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// mkdir(2) of a new folder (a carousel's temp); with output roots, made
    /// with `mkdirat` in its parent opened beneath them.
    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if roots.confines(.output) {
            let parent = try beneathOutputRoot(PathRules.directory(of: path), Sys.pathOnly | O_DIRECTORY, 0)
            defer { _ = Glibc.close(parent) }
            if mkdirat(parent, PathRules.basename(of: path), mode) != 0 { throw SystemError("mkdir", path) }
            return
        }
        if Glibc.mkdir(path, mode) != 0 { throw SystemError("mkdir", path) }
    }

    /// `roots.open` for an output path; a refusal becomes EACCES (the message is logged on stderr).
    private static func beneathOutputRoot(_ path: String, _ flags: Int32, _ mode: mode_t) throws(SystemError) -> Int32 {
        do { return try roots.open(path, for: .output, flags: flags, mode: mode) } catch let e as SystemError {
            throw e
        } catch {
            Sys.print("exportctl-render: \(error)\n", fd: 2)
            throw SystemError("open", path, errno: (error as? PathRoots.Refusal)?.reason.contains("symbolic link") == true ? ELOOP : EACCES)
        }
    }

    /// read(2): bytes read, 0 at end of file, -1 with `lastError` set.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        let n = FileDescriptor.retry { Glibc.read(rawValue, buffer, count) }
        if n < 0 { lastError = SystemError("read", path) }
        return n
    }

    /// write(2) until all `count` bytes are written; false with `lastError` set.
    func writeAll(_ buffer: UnsafeRawPointer, count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = FileDescriptor.retry { Glibc.write(rawValue, buffer + done, count - done) }
            if n < 0 { lastError = SystemError("write", path); return false }
            if n == 0 { lastError = SystemError("write", path, errno: EIO); return false }
            done += n
        }
        return true
    }

    /// lseek(2); -1 with `lastError` set.
    func seek(to offset: Int64, whence: Int32) -> Int64 {
        let r = Int64(lseek(rawValue, off_t(offset), whence))
        if r < 0 { lastError = SystemError("seek", path) }
        return r
    }

    /// The file's size from fstat(2).
    func size() throws(SystemError) -> Int64 {
        var st = stat()
        if fstat(rawValue, &st) != 0 { throw SystemError("fstat", path) }
        return Int64(st.st_size)
    }

    /// fsync(2).
    func sync() throws(SystemError) {
        if FileDescriptor.retry({ fsync(rawValue) }) != 0 { throw SystemError("fsync", path) }
    }

    /// close(2), whose error matters after writes (NFS, delayed allocation).
    /// The descriptor is gone afterwards either way (Linux never reopens it).
    func close() throws(SystemError) {
        guard isOpen else { return }
        isOpen = false
        if Glibc.close(rawValue) != 0 && errno != EINTR { throw SystemError("close", path) }
    }

    /// unlink(2) of a path; a missing file is fine.
    static func unlink(_ path: String) {
        _ = Glibc.unlink(path)
    }
}
