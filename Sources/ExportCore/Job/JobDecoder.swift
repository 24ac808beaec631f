import Glibc

/// Turns job file bytes into a validated `Job`, or a `JobError` naming the
/// file and the line and column or the field.
public struct JobDecoder: Sendable {
    public enum Mode: Sendable {
        /// A file a user submits: relative paths, `user` in clear, inputs checked on disk.
        case submitted
        /// A job already in the spool: absolute paths, id, userHash, submittedAt.
        case stored
    }

    public var mode: Mode
    /// Directory relative paths are resolved against (the submitter's cwd).
    public var baseDirectory: String
    /// Check that inputs exist and output directories are there (submit time).
    public var checkFiles: Bool
    /// Leave the "output exists" rule to the caller (`submit` applies it only to
    /// jobs it really queues, after the idempotency look-up; see `existingOutput`).
    public var outputMayExist = false
    /// The spool's input and output roots: every path must lie beneath them
    /// (checked lexically always, and with `openat2` when `checkFiles`).
    public var roots: PathRoots

    public init(mode: Mode = .submitted, baseDirectory: String, checkFiles: Bool = true, roots: PathRoots = PathRoots()) {
        self.mode = mode
        self.baseDirectory = baseDirectory
        self.checkFiles = checkFiles
        self.roots = roots
    }

    static let commonFields: Set<String> = ["kind", "input", "output", "start", "duration", "overwrite", "user", "idempotencyKey", "hooks", "notify"]
    static let mp3Fields: Set<String> = ["bitrate", "quality", "sampleRate", "channels", "metadata"]
    static let storedFields: Set<String> = ["id", "userHash", "submittedAt", "expectedMediaSeconds"]

    /// Decodes and validates one job file.
    /// - Parameter name: how the file is named in messages (`job.json`, `<stdin>`).
    public func decode(_ bytes: [UInt8], name: String) throws(JobError) -> Job {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw JobError(file: name, line: error.line, column: error.column, message: error.message)
        }
        return try decode(root, name: name)
    }

    public func decode(_ root: JSONValue, name: String) throws(JobError) -> Job {
        func fail(_ field: String?, _ msg: String, _ cat: JobError.Category = .invalid) -> JobError {
            JobError(file: name, field: field, message: msg, category: cat)
        }
        guard case let .object(members) = root else {
            throw fail(nil, "expected a JSON object with a \"kind\", got \(root.typeName)")
        }
        guard let kindValue = root["kind"] else { throw fail("kind", "missing; one of \(kindList)") }
        guard let kindName = kindValue.stringValue else { throw fail("kind", "expected a string, got \(kindValue.typeName)") }
        guard let kind = JobKind(rawValue: kindName) else {
            throw fail("kind", "unknown kind '\(kindName)'; one of \(kindList)")
        }
        guard JobKind.supported.contains(kind) else {
            throw fail("kind", "'\(kindName)' is not supported yet by this version of exportctl (supported: \(supportedList))", .unsupported)
        }
        var allowed = JobDecoder.commonFields
        switch kind {
        case .mp3: allowed.formUnion(JobDecoder.mp3Fields)
        case .mp4: allowed.formUnion(JobDecoder.mp4Fields)
        case .carousel: allowed.formUnion(JobDecoder.carouselFields); allowed.subtract(["input", "start", "duration"])
        }
        allowed.formUnion(JobDecoder.scheduleFields)
        if mode == .stored { allowed.formUnion(JobDecoder.storedFields); allowed.remove("user") }
        for (key, _) in members where !allowed.contains(key) {
            let hint = nearest(key, in: allowed).map { "; did you mean \"\($0)\"?" } ?? ""
            throw fail(key, "unknown field\(hint)")
        }

        // A slideshow has no input: its pictures are slides.
        let hasInput = kind == .mp3 || (kind == .mp4 && root["input"] != nil)
        let input = hasInput ? try path(root, "input", name: name) : ""
        let output = try path(root, "output", name: name)
        var job = Job(kind: kind, input: input, output: output)
        job.start = try number(root, "start", name: name, min: 0, max: 86_400 * 7)
        job.duration = try number(root, "duration", name: name, min: 0, max: 86_400 * 7, exclusiveMin: true)
        if let v = root["overwrite"] {
            guard let b = v.boolValue else { throw fail("overwrite", "expected true or false, got \(v.typeName)") }
            job.overwrite = b
        }
        if kind == .mp3 { job.mp3 = try mp3Options(root, name: name) }
        if kind == .mp4 { job.mp4 = try mp4Options(root, name: name, hasInput: hasInput) }
        if kind == .carousel { job.carousel = try carouselOptions(root, name: name) }
        job.schedule = try scheduleOptions(root, name: name)
        try decodeNotifications(root, into: &job, name: name)
        if let v = root["user"] {
            guard let s = v.stringValue, !s.isEmpty, s.utf8.count <= 256 else {
                throw fail("user", "expected a non-empty string of at most 256 bytes")
            }
            job.user = s
        }
        if let v = root["idempotencyKey"] {
            guard let s = v.stringValue, !s.isEmpty, s.utf8.count <= 256, !s.utf8.contains(0) else {
                throw fail("idempotencyKey", "expected a non-empty string of at most 256 bytes")
            }
            job.idempotencyKey = s
        }
        if mode == .stored {
            if let v = root["id"] {
                guard let s = v.stringValue, let id = JobID(s) else { throw fail("id", "not a job id") }
                job.id = id
            }
            job.userHash = root["userHash"]?.stringValue
            job.submittedAt = root["submittedAt"]?.doubleValue
            job.expectedMediaSeconds = root["expectedMediaSeconds"]?.doubleValue
        }
        if input == output { throw fail("output", "is the same file as \"input\"") }
        if output == job.mp4.audio { throw fail("output", "is the same file as \"audio\"") }
        if let i = job.mp4.slides.firstIndex(where: { $0.image == output }) { throw fail("output", "is the same file as \"slides[\(i)].image\"") }
        if let i = job.carousel.slides.firstIndex(where: { $0.image == output }) { throw fail("output", "is the same file as \"slides[\(i)].image\"") }
        if checkFiles { try checkOnDisk(job, name: name, asWritten: (root["input"]?.stringValue ?? input, root["output"]?.stringValue ?? output)) }
        return job
    }

    // MARK: - fields

    private var kindList: String { JobKind.allCases.map(\.rawValue).joined(separator: ", ") }
    private var supportedList: String { JobKind.allCases.filter { JobKind.supported.contains($0) }.map(\.rawValue).joined(separator: ", ") }

    private func path(_ root: JSONValue, _ field: String, name: String) throws(JobError) -> String {
        guard let v = root[field] else { throw JobError(file: name, field: field, message: "missing; give a file path") }
        guard let s = v.stringValue else { throw JobError(file: name, field: field, message: "expected a file path string, got \(v.typeName)") }
        if let problem = PathRules.problem(with: s) { throw JobError(file: name, field: field, message: problem) }
        if mode == .stored && !s.hasPrefix("/") { throw JobError(file: name, field: field, message: "stored jobs hold absolute paths") }
        let absolute = PathRules.absolute(s, base: baseDirectory)
        if let problem = roots.problem(with: absolute, for: field == "output" ? .output : .input) {
            throw JobError(file: name, field: field, message: problem)
        }
        return absolute
    }

    private func number(_ root: JSONValue, _ field: String, name: String, min: Double, max: Double, exclusiveMin: Bool = false) throws(JobError) -> Double? {
        guard let v = root[field] else { return nil }
        guard let d = v.doubleValue else { throw JobError(file: name, field: field, message: "expected a number of seconds, got \(v.typeName)") }
        guard d.isFinite else { throw JobError(file: name, field: field, message: "must be a finite number of seconds") }
        if d < min || (exclusiveMin && d == min) || d > max {
            let lower = exclusiveMin ? "greater than \(fmt(min))" : "at least \(fmt(min))"
            throw JobError(file: name, field: field, message: "must be \(lower) and at most \(fmt(max)) seconds (got \(fmt(d)))")
        }
        return d
    }

    private func integer(_ root: JSONValue, _ field: String, name: String) throws(JobError) -> Int? {
        guard let v = root[field] else { return nil }
        guard let i = v.intValue else { throw JobError(file: name, field: field, message: "expected a whole number, got \(v.typeName == "a number" ? fmt(v.doubleValue!) : v.typeName)") }
        return Int(i)
    }

    private func mp3Options(_ root: JSONValue, name: String) throws(JobError) -> MP3Options {
        var o = MP3Options()
        o.bitrate = try integer(root, "bitrate", name: name)
        o.quality = try integer(root, "quality", name: name)
        o.sampleRate = try integer(root, "sampleRate", name: name)
        o.channels = try integer(root, "channels", name: name)
        if let b = o.bitrate {
            if o.quality != nil { throw JobError(file: name, field: "quality", message: "give either \"bitrate\" (CBR) or \"quality\" (VBR), not both") }
            guard b >= 32, b <= 320 else { throw JobError(file: name, field: "bitrate", message: "must be one of 32…320 (got \(b))") }
            guard MP3Options.bitrates.contains(b) else {
                let list = MP3Options.bitrates.map(String.init).joined(separator: ", ")
                throw JobError(file: name, field: "bitrate", message: "\(b) is not an MP3 bitrate; one of \(list)")
            }
        }
        if let q = o.quality, !(0...9).contains(q) { throw JobError(file: name, field: "quality", message: "must be 0 (best) … 9 (smallest) (got \(q))") }
        if let r = o.sampleRate, !MP3Options.sampleRates.contains(r) {
            let list = MP3Options.sampleRates.map(String.init).joined(separator: ", ")
            throw JobError(file: name, field: "sampleRate", message: "MP3 supports \(list) Hz (got \(r))")
        }
        if let c = o.channels, !(1...2).contains(c) { throw JobError(file: name, field: "channels", message: "must be 1 (mono) or 2 (stereo) (got \(c))") }
        if let m = root["metadata"] {
            guard case let .object(pairs) = m else { throw JobError(file: name, field: "metadata", message: "expected an object of tag names to strings, got \(m.typeName)") }
            for (k, v) in pairs {
                guard MP3Options.metadataKeys.contains(k) else {
                    throw JobError(file: name, field: "metadata.\(k)", message: "unknown tag; one of \(MP3Options.metadataKeys.joined(separator: ", "))")
                }
                let text: String
                switch v {
                case let .string(s): text = s
                case let .int(i): text = String(i)
                default: throw JobError(file: name, field: "metadata.\(k)", message: "expected a string, got \(v.typeName)")
                }
                guard text.utf8.count <= 4096, !text.utf8.contains(0) else {
                    throw JobError(file: name, field: "metadata.\(k)", message: "must be at most 4096 bytes with no NUL")
                }
                o.metadata.append((k, text))
            }
        }
        return o
    }

    // MARK: - files

    /// Checks the paths on disk; messages name them as the user wrote them.
    private func checkOnDisk(_ job: Job, name: String, asWritten: (input: String, output: String)) throws(JobError) {
        var st = stat()
        if !job.input.isEmpty { try checkReadable(job.input, field: "input", asWritten: asWritten.input, name: name) }
        if job.kind == .mp4 {
            if let audio = job.mp4.audio { try checkReadable(audio, field: "audio", asWritten: audio, name: name) }
            for (i, slide) in job.mp4.slides.enumerated() {
                if let image = slide.image { try checkReadable(image, field: "slides[\(i)].image", asWritten: image, name: name) }
                if let font = slide.style.fontFile { try checkReadable(font, field: "slides[\(i)].style.fontFile", asWritten: font, name: name) }
            }
            if let font = job.mp4.style.fontFile { try checkReadable(font, field: "style.fontFile", asWritten: font, name: name) }
            if let font = job.mp4.captionStyle.fontFile { try checkReadable(font, field: "captionStyle.fontFile", asWritten: font, name: name) }
        }
        if job.kind == .carousel {
            for (i, slide) in job.carousel.slides.enumerated() {
                if let image = slide.image { try checkReadable(image, field: "slides[\(i)].image", asWritten: image, name: name) }
                if let font = slide.style.fontFile { try checkReadable(font, field: "slides[\(i)].style.fontFile", asWritten: font, name: name) }
            }
            if let font = job.carousel.style.fontFile { try checkReadable(font, field: "style.fontFile", asWritten: font, name: name) }
        }
        let dir = PathRules.directory(of: job.output)
        if roots.confines(.output) { try checkOutputBeneathRoot(dir, name: name) }
        if stat(dir, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
            throw JobError(file: name, field: "output", message: "directory '\(dir)' does not exist; create it first")
        }
        if access(dir, W_OK) != 0 {
            throw JobError(file: name, field: "output", message: "directory '\(dir)' is not writable")
        }
        if lstat(job.output, &st) == 0 {
            let folder = job.kind == .carousel && job.carousel.format != .pdf
            if (st.st_mode & S_IFMT) == S_IFDIR && !folder {
                throw JobError(file: name, field: "output", message: "'\(asWritten.output)' is a directory; name the file to write")
            }
            if (st.st_mode & S_IFMT) != S_IFDIR && folder {
                throw JobError(file: name, field: "output", message: "'\(asWritten.output)' is a file; a carousel is written as a folder of slides (or give \"format\": \"pdf\")")
            }
            if !job.overwrite && !outputMayExist {
                throw JobError(file: name, field: "output", message: "'\(asWritten.output)' exists; remove it or set \"overwrite\": true")
            }
        }
    }

    /// The output's folder opened beneath its root: no link on the way.
    private func checkOutputBeneathRoot(_ dir: String, name: String) throws(JobError) {
        do {
            let fd = try roots.open(dir, for: .output, flags: Sys.pathOnly | O_DIRECTORY)
            Glibc.close(fd)
        } catch let r as PathRoots.Refusal {
            throw JobError(file: name, field: "output", message: r.message)
        } catch let e as SystemError where e.errno == ENOENT || e.errno == ENOTDIR {
            throw JobError(file: name, field: "output", message: "directory '\(dir)' does not exist; create it first")
        } catch {
            throw JobError(file: name, field: "output", message: "cannot open directory '\(dir)': \(error)")
        }
    }

    /// A regular file this process can read, or a `missingInput` error naming `field`.
    private func checkReadable(_ path: String, field: String, asWritten: String, name: String) throws(JobError) {
        if roots.confines(.input) {
            let fd = try openInput(path, field: field, asWritten: asWritten, name: name)
            Glibc.close(fd)
            return
        }
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            let why = e == ENOENT ? "no such file" : String(cString: strerror(e)).lowercased()
            throw JobError(file: name, field: field, message: "\(why) '\(asWritten)'", category: .missingInput)
        }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw JobError(file: name, field: field, message: "'\(asWritten)' is not a regular file", category: .missingInput)
        }
        if access(path, R_OK) != 0 {
            throw JobError(file: name, field: field, message: "cannot read '\(asWritten)': permission denied", category: .missingInput)
        }
    }
}

extension JobDecoder {
    /// Opens an input beneath its root for reading (`O_NONBLOCK`, so a FIFO
    /// cannot stall submit); it must be a regular file. Errors name `field`.
    func openInput(_ path: String, field: String, asWritten: String, name: String) throws(JobError) -> Int32 {
        let fd: Int32
        do { fd = try roots.open(path, for: .input, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY) } catch let r as PathRoots.Refusal {
            throw JobError(file: name, field: field, message: r.message)
        } catch let e as SystemError {
            let why = e.errno == ENOENT ? "no such file" : e.errno == EACCES ? "cannot read (permission denied)" : e.message.lowercased()
            throw JobError(file: name, field: field, message: "\(why) '\(e.path == path ? asWritten : e.path ?? asWritten)'", category: .missingInput)
        } catch {
            throw JobError(file: name, field: field, message: "cannot open '\(asWritten)'", category: .missingInput)
        }
        var st = stat()
        if fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG {
            Glibc.close(fd)
            throw JobError(file: name, field: field, message: "'\(asWritten)' is not a regular file", category: .missingInput)
        }
        return fd
    }
}

/// Edit distance suggestion for misspelt field names.
func nearest(_ word: String, in candidates: Set<String>) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1].lowercased() == b[j - 1].lowercased() ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
    let w = Array(word)
    let best = candidates.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    guard let best, best.1 <= Swift.max(1, word.count / 3) else { return nil }
    return best.0
}

/// Prints seconds without a trailing ".0".
func fmt(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
}
