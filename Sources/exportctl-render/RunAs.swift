import ExportCore
import Glibc

/// The render of a shared spool's job runs as the user who submitted it:
/// the daemon (root) names their uid in `EXPORTCTL_RUN_AS`, and the child
/// takes their groups, gid and uid before it reads the job, so it opens and
/// creates only what that user could.
enum RunAs {
    /// Becomes `uid` (`initgroups`, `setgid`, `setuid`); the error message, or nil.
    static func become(_ uid: uid_t) -> String? {
        guard let pw = getpwuid(uid) else { return "no user with uid \(uid) on this machine" }
        let gid = pw.pointee.pw_gid
        if initgroups(pw.pointee.pw_name, gid) != 0 { return "initgroups for uid \(uid): \(String(cString: strerror(errno)))" }
        if setgid(gid) != 0 { return "setgid(\(gid)): \(String(cString: strerror(errno)))" }
        if setuid(uid) != 0 { return "setuid(\(uid)): \(String(cString: strerror(errno)))" }
        if getuid() != uid || geteuid() != uid || setuid(0) == 0 { return "could not drop root for uid \(uid)" }
        return nil
    }
}
