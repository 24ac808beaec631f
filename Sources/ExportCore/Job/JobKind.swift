/// What a job produces.
public enum JobKind: String, Sendable, CaseIterable {
    case mp3, mp4, carousel

    /// Kinds this build renders; the others are reserved names.
    public static let supported: Set<JobKind> = [.mp3, .mp4, .carousel]
}
