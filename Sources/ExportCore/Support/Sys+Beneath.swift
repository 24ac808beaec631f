import CSpoolSys
import Glibc

extension Sys {
    /// `O_PATH`: a descriptor that names a file or folder without opening it for I/O.
    public static var pathOnly: Int32 { cspoolsys_o_path() }

    /// Opens `relative` beneath the folder `root` with `openat2(2)` and
    /// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS: `..` above
    /// `root` or an absolute path fails with EXDEV, a symbolic link anywhere
    /// in `relative` with ELOOP. `root` itself is opened normally (`O_PATH`).
    public static func openBeneath(_ root: String, _ relative: String, _ flags: Int32, _ mode: mode_t = 0o600) throws(SystemError) -> Int32 {
        let dir = retry { Glibc.open(root, cspoolsys_o_path() | O_DIRECTORY | O_CLOEXEC) }
        if dir < 0 { throw SystemError("open", root) }
        defer { Glibc.close(dir) }
        let fd = retry { cspoolsys_open_beneath(dir, relative, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw SystemError("openat2", relative) }
        return fd
    }
}

extension Sys {
    /// renameat2(2) of `from` to `to`, both names in the folder `dirfd`, so
    /// the folder cannot change between the two lookups.
    /// - Parameter replace: plain rename; otherwise RENAME_NOREPLACE (EEXIST when `to` exists).
    public static func renameAt(_ dirfd: Int32, _ from: String, _ to: String, replace: Bool) throws(SystemError) {
        let r = retry { replace ? Glibc.renameat(dirfd, from, dirfd, to) : cspoolsys_rename_noreplace(dirfd, from, dirfd, to) }
        if r != 0 { throw SystemError("rename", to) }
    }

    /// Swaps the names `a` and `b` in the folder `dirfd` (RENAME_EXCHANGE).
    public static func exchangeAt(_ dirfd: Int32, _ a: String, _ b: String) throws(SystemError) {
        if retry({ cspoolsys_rename_exchange(dirfd, a, dirfd, b) }) != 0 { throw SystemError("rename", b) }
    }
}
