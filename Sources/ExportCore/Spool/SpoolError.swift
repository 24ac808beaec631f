/// Why a spool operation could not be done.
public enum SpoolError: Error, Sendable, CustomStringConvertible {
    /// The queue cap is reached (exit 75).
    case queueFull(waiting: Int, cap: Int)
    /// A per-user limit of the spool's settings is reached (exit 75); the message names it.
    case userLimit(String)
    /// Jobs refused once the idempotency look-up decided they are to be queued
    /// (an output that exists): exit 65.
    case refused([JobError])
    /// Another daemon holds the spool's lock (exit 75).
    case busy(holder: String)
    /// No job with this id in the spool (exit 66).
    case unknownJob(String)
    /// A system call failed (exit 74).
    case system(SystemError)
    /// settings.json is invalid (exit 78, EX_CONFIG).
    case settings(JobError)
    /// `exportctl drain` is in progress: nothing new is accepted (exit 75).
    case draining
    /// The job moved between states three times while being changed (exit 75).
    case changing(String)

    public var description: String {
        switch self {
        case let .queueFull(waiting, cap): return "queue full: \(waiting) jobs waiting (cap \(cap)); try again later"
        case let .userLimit(message): return message
        case let .refused(errors): return errors.map(\.description).joined(separator: "\n")
        case let .busy(holder): return "spool is busy: \(holder)"
        case let .unknownJob(id): return "no job '\(id)' in this spool"
        case let .system(e): return e.description
        case let .settings(e): return e.description
        case .draining: return "the spool is draining (exportctl drain): no new jobs are accepted until the daemon has finished the queue and exited, or 'exportctl resume' is run"
        case let .changing(id): return "\(id) kept changing state; try again"
        }
    }
}
