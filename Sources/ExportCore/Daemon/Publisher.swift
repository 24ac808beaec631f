import Glibc

/// Moves a verified temp output to its final name durably: the rename is
/// no-replace unless the job says `overwrite`, and the directory is fsynced
/// before the job may be called completed. A folder (a carousel) moves as a
/// whole, so no half-written set of slides is ever seen under its name.
///
/// The output's folder is opened once (beneath its output root when the
/// spool has `outputRoots`, so no symbolic link is followed) and every step
/// names the temp and the output relative to it: a folder swapped for a link
/// between the render and the publish cannot send the output elsewhere.
public enum Publisher {
    public enum Failure: Error, Sendable {
        case exists(String)
        /// On a shared spool: the output to replace belongs to someone other than the job's owner.
        case notOwner(String)
        case system(SystemError)
    }

    /// - Parameter owner: on a shared spool, the user the job rendered as: the temp must be
    ///   theirs (their render made it, so they may write that folder) and an output it replaces too.
    public static func publish(temp: String, to output: String, overwrite: Bool, roots: PathRoots = PathRoots(),
                               owner: uid_t? = nil) throws(Failure) {
        let dir = PathRules.directory(of: output)
        let tempName = PathRules.basename(of: temp), name = PathRules.basename(of: output)
        do {
            guard PathRules.directory(of: temp) == dir else { throw SystemError("publish", temp, errno: EXDEV) }
            let dirfd: Int32
            do { dirfd = try roots.open(dir, for: .output, flags: O_RDONLY | O_DIRECTORY) } catch let e as SystemError {
                throw e
            } catch {
                throw SystemError("open", dir, errno: ELOOP)
            }
            defer { Glibc.close(dirfd) }
            // The child fsynced and closed the temp; fsync again in case it was
            // written by a renderer that did not (cheap when already clean).
            let fd = try Sys.openat(dirfd, tempName, O_RDONLY | O_NOFOLLOW)
            defer { Glibc.close(fd) }
            try Sys.fsync(fd, path: temp)
            var st = stat()
            let isFolder = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            if let owner {
                guard st.st_uid == owner else { throw SystemError("publish", temp, errno: EPERM) }
                var target = stat()
                if overwrite && fstatat(dirfd, name, &target, AT_SYMLINK_NOFOLLOW) == 0 && target.st_uid != owner {
                    throw Failure.notOwner(output)
                }
            }
            if overwrite && isFolder {
                // A folder (a carousel) cannot be renamed over a non-empty one: swap, then remove the old.
                if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                    try Sys.exchangeAt(dirfd, tempName, name)
                    try Sys.fsync(dirfd, path: dir)
                    try Sys.removeOutput(temp)
                } else {
                    try Sys.renameAt(dirfd, tempName, name, replace: false)
                }
            } else if overwrite {
                try Sys.renameAt(dirfd, tempName, name, replace: true)
            } else {
                do { try Sys.renameAt(dirfd, tempName, name, replace: false) } catch {
                    if error.errno == EEXIST { throw Failure.exists(output) }
                    throw error
                }
                // The name is new: if it cannot be made durable, take it back, so the
                // retry publishes again instead of finding its own output in the way.
                do { try Sys.fsync(dirfd, path: dir) } catch {
                    try? Sys.renameAt(dirfd, name, tempName, replace: false)
                    throw error
                }
                return
            }
            try Sys.fsync(dirfd, path: dir)
        } catch let f as Failure {
            throw f
        } catch let e as SystemError {
            throw .system(e)
        } catch {
            throw .system(SystemError("publish", output, errno: EIO))
        }
    }
}
