import CSpoolSys
import Glibc

/// Every raw system call the spool makes goes through here, retried on EINTR
/// and turned into a thrown `SystemError` naming the call and the path.
public enum Sys {
    @inline(__always)
    static func retry<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws(SystemError) -> Int32 {
        let fd = retry { Glibc.open(path, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw SystemError("open", path) }
        return fd
    }

    public static func openat(_ dirfd: Int32, _ name: String, _ flags: Int32, _ mode: mode_t = 0o600) throws(SystemError) -> Int32 {
        let fd = retry { Glibc.openat(dirfd, name, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw SystemError("open", name) }
        return fd
    }

    /// Opens a directory for fsync and *at calls.
    public static func openDirectory(_ path: String) throws(SystemError) -> Int32 {
        try open(path, O_RDONLY | O_DIRECTORY)
    }

    /// close(2), whose error matters after writes (NFS, delayed allocation).
    public static func close(_ fd: Int32, path: String? = nil) throws(SystemError) {
        if Glibc.close(fd) != 0 && errno != EINTR { throw SystemError("close", path) }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String? = nil) throws(SystemError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { b in retry { Glibc.write(fd, b.baseAddress! + off, b.count - off) } }
            if n < 0 { throw SystemError("write", path) }
            if n == 0 { throw SystemError("write", path, errno: EIO) }
            off += n
        }
    }

    /// Reads the whole file behind `fd`, refusing more than `limit` bytes.
    ///
    /// A regular file is read straight into an array of its size (from
    /// `fstat`), so a slide or a job file is not copied through a growing buffer.
    public static func readAll(_ fd: Int32, limit: Int = 64 << 20, path: String? = nil) throws(SystemError) -> [UInt8] {
        var st = stat()
        let size = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : 0
        var out = [UInt8](repeating: 0, count: min(max(size, 0), limit) + 1)
        var filled = 0
        while true {
            if filled == out.count {
                if filled > limit { throw SystemError("read", path, errno: EFBIG) }
                out += [UInt8](repeating: 0, count: min(max(out.count, 65536), limit + 1 - out.count))
            }
            let n = out.withUnsafeMutableBytes { b in retry { Glibc.read(fd, b.baseAddress! + filled, b.count - filled) } }
            if n < 0 { throw SystemError("read", path) }
            if n == 0 { break }
            filled += n
        }
        if filled > limit { throw SystemError("read", path, errno: EFBIG) }
        out.removeLast(out.count - filled)
        return out
    }

    public static func readFile(_ path: String, limit: Int = 64 << 20) throws(SystemError) -> [UInt8] {
        let fd = try open(path, O_RDONLY | O_NOFOLLOW)
        defer { Glibc.close(fd) }
        return try readAll(fd, limit: limit, path: path)
    }

    public static func fsync(_ fd: Int32, path: String? = nil) throws(SystemError) {
        if retry({ Glibc.fsync(fd) }) != 0 { throw SystemError("fsync", path) }
    }

    /// fsync of a directory, so a rename or create in it survives a power cut.
    public static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try openDirectory(path)
        defer { Glibc.close(fd) }
        try fsync(fd, path: path)
    }

    /// syncfs(2) of the filesystem `fd` is on: every file written there is on
    /// disk when it returns. Since Linux 5.8 it reports a writeback error that
    /// happened after `fd` was opened.
    public static func syncfs(_ fd: Int32, path: String? = nil) throws(SystemError) {
        if retry({ CSpoolSys.syncfs(fd) }) != 0 { throw SystemError("syncfs", path) }
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        if retry({ Glibc.rename(from, to) }) != 0 { throw SystemError("rename", from) }
    }

    /// rename that fails with EEXIST instead of replacing `to`.
    public static func renameNoReplace(_ from: String, _ to: String) throws(SystemError) {
        if retry({ cspoolsys_rename_noreplace(AT_FDCWD, from, AT_FDCWD, to) }) != 0 { throw SystemError("rename", to) }
    }

    /// Swaps the names `a` and `b` atomically (`renameat2(RENAME_EXCHANGE)`).
    public static func renameExchange(_ a: String, _ b: String) throws(SystemError) {
        if retry({ cspoolsys_rename_exchange(AT_FDCWD, a, AT_FDCWD, b) }) != 0 { throw SystemError("rename", b) }
    }

    /// Removes a render's temp output: a file, or a folder of files (a carousel), which is
    /// emptied first. Only one level: a temp folder holds no folders. A missing path is fine.
    public static func removeOutput(_ path: String) throws(SystemError) {
        if Glibc.unlink(path) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw SystemError("unlink", path) }
        let fd = try openDirectory(path)
        guard let dir = fdopendir(fd) else { Glibc.close(fd); throw SystemError("opendir", path) }
        defer { closedir(dir) }
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            if unlinkat(fd, name, 0) != 0 && errno != ENOENT { throw SystemError("unlink", path + "/" + name) }
        }
        if Glibc.rmdir(path) != 0 && errno != ENOENT { throw SystemError("rmdir", path) }
    }

    /// Bytes of a published output: a file's size, or the sum of the files in a folder (a carousel); nil when missing.
    public static func outputSize(_ path: String) -> Int64? {
        guard let st = fileStatus(path) else { return nil }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return Int64(st.st_size) }
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var total: Int64 = 0
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            if let f = fileStatus(path + "/" + name), (f.st_mode & S_IFMT) == S_IFREG { total += Int64(f.st_size) }
        }
        return total
    }

    public static func unlink(_ path: String, missingOK: Bool = true) throws(SystemError) {
        if Glibc.unlink(path) != 0 && !(missingOK && errno == ENOENT) { throw SystemError("unlink", path) }
    }

    public static func mkdir(_ path: String, _ mode: mode_t = 0o700) throws(SystemError) {
        if Glibc.mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("mkdir", path) }
    }

    /// Whether anything (a symlink included) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        fileStatus(path) != nil
    }

    /// lstat(2), or nil when it fails.
    public static func fileStatus(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    /// Names in a directory, without `.` and `..`.
    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        var names: [String] = []
        try forEachName(in: path) { names.append(String(decoding: $0, as: UTF8.self)) }
        return names
    }

    /// Calls `body` with each name in a directory (not `.` or `..`) as its bytes,
    /// valid only during the call: a scan of thousands of names without a String each.
    public static func forEachName(in path: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(SystemError) {
        guard let d = opendir(path) else { throw SystemError("opendir", path) }
        defer { closedir(d) }
        let dot = UInt8(ascii: ".")
        while let e = readdir(d) {
            withUnsafePointer(to: &e.pointee.d_name) { t in
                t.withMemoryRebound(to: CChar.self, capacity: 256) { c in
                    let n = strlen(c)
                    c.withMemoryRebound(to: UInt8.self, capacity: n) { u in
                        let name = UnsafeBufferPointer(start: u, count: n)
                        if !(name.allSatisfy { $0 == dot } && n <= 2) { body(name) }
                    }
                }
            }
        }
    }

    /// Cryptographically random bytes from getrandom(2).
    public static func randomBytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { cspoolsys_getrandom($0.baseAddress! + got, n - got) }
            if r > 0 { got += r }
        }
        return out
    }

    /// Writes `bytes` to stdout (fd 1) or stderr (fd 2) in one piece.
    public static func print(_ text: String, fd: Int32 = 1) {
        try? writeAll(fd, Array(text.utf8))
    }
}
