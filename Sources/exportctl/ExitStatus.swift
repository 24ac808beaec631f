import ArgumentParser
import ExportCore
import Glibc

/// Exit codes (sysexits where one fits), documented in exportctl(1).
enum ExitStatus {
    static let ok: Int32 = 0
    static let jobFailed: Int32 = 1
    static let jobCancelled: Int32 = 2
    static let usage: Int32 = 64
    static let invalidJob: Int32 = 65
    static let noInput: Int32 = 66
    static let unavailable: Int32 = 69
    static let ioError: Int32 = 74
    static let tryLater: Int32 = 75
    static let noPermission: Int32 = 77
    static let config: Int32 = 78
    static let timedOut: Int32 = 124
}

/// Prints `exportctl: message` on stderr and exits with `code`.
func fail(_ message: String, _ code: Int32) -> ExitCode {
    Sys.print("exportctl: \(message)\n", fd: 2)
    return ExitCode(code)
}

func exitStatus(for error: SpoolError) -> Int32 {
    switch error {
    case .queueFull, .busy, .userLimit, .draining, .changing: return ExitStatus.tryLater
    case .unknownJob: return ExitStatus.noInput
    case let .refused(errors): return errors.contains { $0.category != .missingInput } ? ExitStatus.invalidJob : ExitStatus.noInput
    case .system: return ExitStatus.ioError
    case .settings: return ExitStatus.config
    }
}

func exitStatus(for error: JobError) -> Int32 {
    error.category == .missingInput ? ExitStatus.noInput : ExitStatus.invalidJob
}

/// The exit code `wait` gives for a set of finished jobs: 1 if any failed,
/// else 2 if any was cancelled, else 0.
func exitStatus(for records: [StatusSidecar]) -> Int32 {
    if records.contains(where: { $0.state == .failed }) { return ExitStatus.jobFailed }
    if records.contains(where: { $0.state == .cancelled }) { return ExitStatus.jobCancelled }
    return ExitStatus.ok
}

func currentDirectory() -> String {
    guard let p = getcwd(nil, 0) else { return "/" }
    defer { free(p) }
    return String(cString: p)
}

/// Parses job ids given on the command line, exiting 66 on one that cannot exist.
func parseIDs(_ args: [String]) throws -> [JobID] {
    try args.map { a in
        guard let id = JobID(a) else { throw fail("'\(a)' is not a job id (ids look like 65f1c2a8b3e41-9c03fa)", ExitStatus.noInput) }
        return id
    }
}

var stderrIsTerminal: Bool { isatty(2) == 1 }
