import CSpoolSys
import Glibc

/// One run of a notification command (a hook, or curl posting an https
/// webhook): spawned in its own process group with bytes on its stdin, its
/// stdout and stderr going to one descriptor, killed with its whole group
/// when it outlives its timeout or the daemon stops.
struct ChildCommand {
    enum Outcome: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        case timedOut(Double)
        /// The daemon was stopping; the command was killed and will run again.
        case interrupted
        case notStarted(String)

        var description: String {
            switch self {
            case let .exited(c): return "exit \(c)"
            case let .signalled(s): return "killed by \(RenderChild.signalName(s))"
            case let .timedOut(t): return "killed after its timeout of \(fmt(t)) s"
            case .interrupted: return "killed: the daemon was stopping"
            case let .notStarted(why): return "not started: \(why)"
            }
        }
    }

    var argv: [String]
    /// `NAME=value` entries, the whole environment of the command.
    var environment: [String]
    var directory: String
    var timeout: Double

    /// The executable: argv[0] if it has a slash, else the first match in `PATH` of `environment`.
    func executable() -> String? {
        let name = argv[0]
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = dir + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs the command to its end.
    /// - Parameters:
    ///   - input: written to its stdin (then closed); a command that does not read it just loses the rest.
    ///   - output: where its stdout and stderr go.
    ///   - onOutput: when set, output goes through a pipe and each chunk is passed here instead.
    ///   - shouldStop: polled every 20 ms; true kills the command (`interrupted`).
    func run(input: [UInt8], output: Int32, onOutput: ((ArraySlice<UInt8>) -> Void)? = nil, shouldStop: () -> Bool) -> Outcome {
        guard let exe = executable() else { return .notStarted("'\(argv[0])' is not an executable file (nor found in PATH)") }
        var inFDs: [Int32] = [0, 0], outFDs: [Int32] = [-1, -1]
        if pipe2(&inFDs, O_CLOEXEC) != 0 { return .notStarted(SystemError("pipe2").description) }
        if onOutput != nil && pipe2(&outFDs, O_CLOEXEC) != 0 {
            Glibc.close(inFDs[0]); Glibc.close(inFDs[1])
            return .notStarted(SystemError("pipe2").description)
        }
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cenv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) }; for e in cenv { free(e) } }
        var pid: pid_t = 0
        let rc = cspoolsys_spawn_command(&pid, exe, &cargs, &cenv, inFDs[0], onOutput != nil ? outFDs[1] : output, directory)
        Glibc.close(inFDs[0])
        if outFDs[1] >= 0 { Glibc.close(outFDs[1]) }
        if rc != 0 {
            Glibc.close(inFDs[1])
            if outFDs[0] >= 0 { Glibc.close(outFDs[0]) }
            return .notStarted(SystemError("spawn", exe, errno: rc).description)
        }
        // stdin: as much as the pipe takes without blocking; a hook that never reads cannot hold us.
        _ = fcntl(inFDs[1], F_SETFL, O_NONBLOCK)
        _ = input.withUnsafeBytes { b in b.count == 0 ? 0 : Sys.retry { Glibc.write(inFDs[1], b.baseAddress!, b.count) } }
        Glibc.close(inFDs[1])
        if outFDs[0] >= 0 { _ = fcntl(outFDs[0], F_SETFL, O_NONBLOCK) }
        defer { if outFDs[0] >= 0 { Glibc.close(outFDs[0]) } }

        func drain() {
            guard outFDs[0] >= 0, let onOutput else { return }
            var buf = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = buf.withUnsafeMutableBytes { b in Sys.retry { Glibc.read(outFDs[0], b.baseAddress!, b.count) } }
                if n <= 0 { break }
                onOutput(buf[0..<n])
            }
        }
        let deadline = Clock.monotonic() + timeout
        var status: Int32 = 0
        while true {
            let r = Sys.retry { waitpid(pid, &status, WNOHANG) }
            if r == pid { break }
            drain()
            let stopping = shouldStop()
            if stopping || Clock.monotonic() >= deadline {
                _ = kill(-pid, SIGKILL)
                _ = kill(pid, SIGKILL)
                _ = Sys.retry { waitpid(pid, &status, 0) }
                drain()
                return stopping ? .interrupted : .timedOut(timeout)
            }
            usleep(20_000)
        }
        drain()
        // The hook is done; anything it left running in its group goes too.
        _ = kill(-pid, SIGKILL)
        if cspoolsys_wifsignaled(status) != 0 { return .signalled(cspoolsys_wtermsig(status)) }
        return .exited(cspoolsys_wexitstatus(status))
    }
}
