/// Where a job is in its life. Each state but `processing` is a directory of
/// the spool; the job's file sits in exactly one of them.
public enum JobState: String, Sendable, CaseIterable {
    case queued, processing, completed, failed, cancelled

    /// The spool directory holding jobs in this state.
    public var directory: String {
        switch self {
        case .queued: return "queue"
        case .processing: return "running"
        case .completed: return "done"
        case .failed: return "failed"
        case .cancelled: return "cancelled"
        }
    }

    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}
