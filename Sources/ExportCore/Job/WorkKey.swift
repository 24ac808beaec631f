/// The idempotency key `submit --dedupe` derives for a job: the same work
/// gets the same key, and any change to it a new one.
///
/// It is `dedupe:` and the hex SHA-256 of three parts, each on its own line:
/// the job in canonical form (the stored job without id, submit time, user
/// and key, members sorted by name, compact JSON, paths absolute), the
/// SHA-256 of the content of every file the job reads (input, audio, slide
/// images, font files; a caption file is already inside the job, its cues
/// stored inline), and the renderer's version (`exportctl-render --version`:
/// exportctl's and FFmpeg's). Fonts named by family are not hashed.
public enum WorkKey {
    public static let prefix = "dedupe:"

    /// The key of `job` with `rendererVersion`; reads every input file in full.
    public static func derive(_ job: Job, rendererVersion: String) throws(SystemError) -> String {
        var j = job
        j.id = nil
        j.submittedAt = nil
        j.user = nil
        j.userHash = nil
        j.idempotencyKey = nil
        j.expectedMediaSeconds = nil
        var text = canonical(j.storedJSON()).jsonText() + "\n"
        for path in inputFiles(of: job) { text += path + " " + (try SHA256.hexOfFile(path)) + "\n" }
        text += rendererVersion + "\n"
        return prefix + SHA256.hex(SHA256.hash(Array(text.utf8)))
    }

    /// Every file `job` reads, in a fixed order, each once.
    public static func inputFiles(of job: Job) -> [String] {
        var files: [String] = []
        func add(_ p: String?) { if let p, !p.isEmpty, !files.contains(p) { files.append(p) } }
        add(job.input)
        switch job.kind {
        case .mp3: break
        case .mp4:
            add(job.mp4.audio)
            add(job.mp4.style.fontFile)
            add(job.mp4.captionStyle.fontFile)
            for s in job.mp4.slides { add(s.image); add(s.style.fontFile) }
        case .carousel:
            add(job.carousel.style.fontFile)
            for s in job.carousel.slides { add(s.image); add(s.style.fontFile) }
        }
        return files
    }

    /// `v` with every object's members sorted by name.
    static func canonical(_ v: JSONValue) -> JSONValue {
        switch v {
        case let .object(m): return .object(m.map { ($0.0, canonical($0.1)) }.sorted { $0.0 < $1.0 })
        case let .array(a): return .array(a.map(canonical))
        default: return v
        }
    }
}
