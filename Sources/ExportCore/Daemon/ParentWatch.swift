import CSpoolSys
import Glibc

/// Ties a render child's life to the process that started it.
///
/// The daemon exports its pid in `EXPORTCTL_PARENT_PID` before spawning; the
/// child asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG)
/// and exits at once if the parent is already gone, closing the race between
/// spawn and prctl. So a daemon killed with SIGKILL leaves no render behind.
public enum ParentWatch {
    public static let environmentKey = "EXPORTCTL_PARENT_PID"

    /// Called by the parent before spawning children.
    public static func exportParentPID() {
        setenv(environmentKey, String(getpid()), 1)
    }

    /// Called first thing by a child. Returns false when the parent is already gone.
    @discardableResult
    public static func dieWithParent() -> Bool {
        _ = cspoolsys_set_parent_death_signal(SIGKILL)
        guard let v = getenv(environmentKey), let expected = pid_t(String(cString: v)) else { return true }
        return getppid() == expected
    }
}
