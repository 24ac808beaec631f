/// One export job: what to read, what to write and how.
///
/// A submitted job file names paths relative to the submitter's directory;
/// the stored job (in the spool) holds absolute paths, the id, the submit
/// time and the user's salted hash instead of the user.
public struct Job: Sendable, Equatable {
    /// Largest job file `submit` reads.
    public static let maxFileBytes = 1 << 20
    /// Largest stored job (a caption file's cues are stored inline).
    public static let maxStoredBytes = 17 << 20
    public var id: JobID?
    public var kind: JobKind
    public var input: String
    public var output: String
    /// Seconds to skip at the start of the input.
    public var start: Double?
    /// Seconds to keep after `start`; nil keeps the rest.
    public var duration: Double?
    /// Replace an existing output file instead of failing.
    public var overwrite: Bool
    public var mp3: MP3Options
    /// Options of an mp4 job (`input` is empty for a slideshow).
    public var mp4: MP4Options
    /// Options of a carousel job (`input` is empty).
    public var carousel: CarouselOptions = CarouselOptions()
    /// Submitting the same key again (for the same user) returns this job
    /// instead of queueing another (see `KeyIndex`); `submit --dedupe` derives one.
    public var idempotencyKey: String?
    /// The submitting user's id, in clear; never stored.
    public var user: String?
    /// HMAC-SHA256 of `user` with the spool's secret salt (hex).
    public var userHash: String?
    /// Seconds since the epoch.
    public var submittedAt: Double?
    /// Retries, deadline, priority and earliest start.
    public var schedule = JobSchedule()
    /// Commands run when the job ends (`hooks`).
    public var hooks = Hooks()
    /// Where the final status is posted when the job ends (`notify.url`).
    public var notify: WebhookURL?
    /// Seconds of media `submit` expects the render to make (stored; see `Estimator`).
    public var expectedMediaSeconds: Double?

    public init(kind: JobKind, input: String, output: String, start: Double? = nil, duration: Double? = nil,
                overwrite: Bool = false, mp3: MP3Options = MP3Options(), mp4: MP4Options = MP4Options()) {
        self.kind = kind
        self.input = input
        self.output = output
        self.start = start
        self.duration = duration
        self.overwrite = overwrite
        self.mp3 = mp3
        self.mp4 = mp4
    }

    /// The stored form, as written into the spool (no clear-text user).
    public func storedJSON() -> JSONValue {
        var pairs: [(String, JSONValue?)] = [
            ("id", id.map { .string($0.rawValue) }),
            ("kind", .string(kind.rawValue)),
            ("input", input.isEmpty ? nil : .string(input)),
            ("output", .string(output)),
            ("start", start.map { .double($0) }),
            ("duration", duration.map { .double($0) }),
            ("overwrite", overwrite ? .bool(true) : nil),
        ]
        if kind == .mp3 {
            pairs += [
                ("bitrate", mp3.bitrate.map { .int(Int64($0)) }),
                ("quality", mp3.quality.map { .int(Int64($0)) }),
                ("sampleRate", mp3.sampleRate.map { .int(Int64($0)) }),
                ("channels", mp3.channels.map { .int(Int64($0)) }),
                ("metadata", mp3.metadata.isEmpty ? nil : .object(mp3.metadata.map { ($0.0, .string($0.1)) })),
            ]
        }
        if kind == .mp4 { pairs += mp4.storedPairs }
        if kind == .carousel { pairs += carousel.storedPairs }
        pairs += schedule.storedPairs
        pairs += [
            ("idempotencyKey", idempotencyKey.map { .string($0) }),
            ("hooks", hooks.isEmpty ? nil : hooks.json()),
            ("notify", notify.map { .object([("url", .string($0.description))]) }),
            ("userHash", userHash.map { .string($0) }),
            ("submittedAt", submittedAt.map { .double($0) }),
            ("expectedMediaSeconds", expectedMediaSeconds.map { .double(($0 * 1000).rounded() / 1000) }),
        ]
        return .compactObject(pairs)
    }
}
