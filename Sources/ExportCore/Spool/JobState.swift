/// Where a job is in its life. Each state but `processing` and `deferred` is
/// a directory of the spool; the job's file sits in exactly one of them.
///
/// `deferred` is a queued job (its file is in `queue/`) that may not start
/// yet: it waits to be retried, for its `notBefore` time, or for disk space.
/// Readers derive it from the sidecar and the job file; it is never a directory.
public enum JobState: String, Sendable, CaseIterable {
    case queued, deferred, held, processing, completed, failed, cancelled

    /// The states that are directories of the spool, in the order a job goes
    /// through them (`deferred` lives in `queue/` and is left out).
    public static var allCases: [JobState] { [.queued, .held, .processing, .completed, .failed, .cancelled] }

    /// The spool directory holding jobs in this state.
    public var directory: String {
        switch self {
        case .queued, .deferred: return "queue"
        case .held: return "held"
        case .processing: return "running"
        case .completed: return "done"
        case .failed: return "failed"
        case .cancelled: return "cancelled"
        }
    }

    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }

    /// Queued, deferred or held: not started and not finished.
    public var isWaiting: Bool { self == .queued || self == .deferred || self == .held }
}
