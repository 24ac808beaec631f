import Glibc

/// Moves a verified temp output to its final name durably: the rename is
/// no-replace unless the job says `overwrite`, and the directory is fsynced
/// before the job may be called completed. A folder (a carousel) moves as a
/// whole, so no half-written set of slides is ever seen under its name.
public enum Publisher {
    public enum Failure: Error, Sendable {
        case exists(String)
        case system(SystemError)
    }

    public static func publish(temp: String, to output: String, overwrite: Bool) throws(Failure) {
        do {
            // The child fsynced and closed the temp; fsync again in case it was
            // written by a renderer that did not (cheap when already clean).
            let fd = try Sys.open(temp, O_RDONLY | O_NOFOLLOW)
            defer { Glibc.close(fd) }
            try Sys.fsync(fd, path: temp)
            var st = stat()
            let isFolder = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            if overwrite && isFolder {
                // A folder (a carousel) cannot be renamed over a non-empty one: swap, then remove the old.
                if Sys.exists(output) {
                    try Sys.renameExchange(temp, output)
                    try Sys.fsyncDirectory(PathRules.directory(of: output))
                    try Sys.removeOutput(temp)
                } else {
                    try Sys.renameNoReplace(temp, output)
                }
            } else if overwrite {
                try Sys.rename(temp, output)
            } else {
                do { try Sys.renameNoReplace(temp, output) } catch {
                    if error.errno == EEXIST { throw Failure.exists(output) }
                    throw error
                }
            }
            try Sys.fsyncDirectory(PathRules.directory(of: output))
        } catch let f as Failure {
            throw f
        } catch let e as SystemError {
            throw .system(e)
        } catch {
            throw .system(SystemError("publish", output, errno: EIO))
        }
    }
}
