import Glibc

/// The mp4 fields of a job file: frame, slides, audio, captions, text style, encoding.
extension JobDecoder {
    static let mp4Fields: Set<String> = [
        "width", "height", "size", "fps", "fit", "background", "audio", "slides", "transition",
        "captions", "style", "captionStyle", "crf", "preset", "audioBitrate",
    ]
    static let slideFields: Set<String> = ["image", "duration", "fit", "focus", "background", "text", "style"]
    static let styleFields: Set<String> = [
        "font", "fontFile", "fontSize", "color", "highlightColor", "outline", "outlineColor", "shadow",
        "shadowColor", "box", "boxColor", "position", "align", "margin", "maxWidth", "lineSpacing",
    ]
    static let cueFields: Set<String> = ["start", "end", "text", "words"]
    /// Most slides in one job.
    static let maxSlides = 200
    /// Largest caption file read at submit.
    static let maxCaptionFileBytes = 16 << 20

    func mp4Options(_ root: JSONValue, name: String, hasInput: Bool) throws(JobError) -> MP4Options {
        func fail(_ field: String, _ msg: String, _ cat: JobError.Category = .invalid) -> JobError {
            JobError(file: name, field: field, message: msg, category: cat)
        }
        var o = MP4Options()

        // Frame.
        if let v = root["size"] {
            guard let s = v.stringValue, let p = MP4Options.sizePresets.first(where: { $0.name == s }) else {
                throw fail("size", "expected one of \(MP4Options.sizePresets.map { "\"\($0.name)\" (\($0.width)x\($0.height))" }.joined(separator: ", "))")
            }
            if root["width"] != nil || root["height"] != nil { throw fail("size", "give either \"size\" or \"width\" and \"height\", not both") }
            o.width = p.width
            o.height = p.height
        } else {
            guard root["width"] != nil, root["height"] != nil else {
                throw fail(root["width"] == nil ? "width" : "height", "missing; give \"width\" and \"height\" in pixels, or a \"size\" such as \"story\" (1080x1920)")
            }
            o.width = try dimension(root, "width", name: name)
            o.height = try dimension(root, "height", name: name)
        }
        if let v = root["fps"] {
            guard let d = v.doubleValue, d.isFinite, d >= 1, d <= 120 else { throw fail("fps", "must be a number from 1 to 120 (got \(show(v)))") }
            o.fps = JobDecoder.frameRate(d)
        }
        if root["fit"] != nil {
            guard hasInput else { throw fail("fit", "applies to a video \"input\"; give \"fit\" on each slide instead") }
            o.fit = try fitMode(root["fit"]!, field: "fit", name: name)
        }
        if let v = root["background"] { o.background = try color(v, field: "background", name: name) }

        // Pictures: a video to re-encode, or slides.
        if let v = root["slides"] {
            if hasInput { throw fail("slides", "give either \"input\" (a video to re-encode) or \"slides\", not both") }
            guard case let .array(items) = v, !items.isEmpty else { throw fail("slides", "expected a non-empty array of slides") }
            guard items.count <= JobDecoder.maxSlides else { throw fail("slides", "at most \(JobDecoder.maxSlides) slides (got \(items.count))") }
            for (i, item) in items.enumerated() { o.slides.append(try slide(item, field: "slides[\(i)]", name: name)) }
        } else if !hasInput {
            throw fail("input", "missing; give \"input\" (a video to re-encode) or \"slides\" (images over an \"audio\" track)")
        }
        if let v = root["audio"] {
            if hasInput { throw fail("audio", "a re-encode keeps the audio of its \"input\"; \"audio\" goes with \"slides\"") }
            o.audio = try pathValue(v, field: "audio", name: name)
        }
        if let v = root["transition"] {
            guard !o.slides.isEmpty else { throw fail("transition", "applies to slides") }
            guard case let .object(pairs) = v else { throw fail("transition", "expected an object like {\"type\": \"fade\", \"duration\": 0.5}") }
            var t = Transition()
            for (k, _) in pairs where k != "type" && k != "duration" { throw fail("transition.\(k)", "unknown field; \"type\" or \"duration\"") }
            if let ty = v["type"] {
                guard let s = ty.stringValue, let kind = Transition.Kind(rawValue: s) else {
                    throw fail("transition.type", "expected one of \(Transition.Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
                }
                t.kind = kind
            }
            if let d = v["duration"] {
                guard let s = d.doubleValue, s > 0, s <= 10 else { throw fail("transition.duration", "must be more than 0 and at most 10 seconds (got \(show(d)))") }
                t.duration = s
            }
            o.transition = t
        }

        // Text.
        if let v = root["style"] { o.style = try style(v, field: "style", name: name) }
        if let v = root["captionStyle"] { o.captionStyle = try style(v, field: "captionStyle", name: name) }
        if let v = root["captions"] { o.captions = try captions(v, name: name) }

        // Encoding.
        if let v = root["crf"] {
            guard let c = v.intValue, (0...51).contains(c) else { throw fail("crf", "must be a whole number from 0 (lossless) to 51 (worst); 18–28 is usual (got \(show(v)))") }
            o.crf = Int(c)
        }
        if let v = root["preset"] {
            guard let s = v.stringValue, MP4Options.presets.contains(s) else {
                throw fail("preset", "expected one of \(MP4Options.presets.joined(separator: ", ")) (got \(show(v)))")
            }
            o.preset = s
        }
        if let v = root["audioBitrate"] {
            guard let b = v.intValue, (32...320).contains(b) else { throw fail("audioBitrate", "must be from 32 to 320 kbit/s (got \(show(v)))") }
            o.audioBitrate = Int(b)
        }
        try checkTiming(o, root: root, name: name)
        return o
    }

    /// Timing rules that need no media: without audio every slide has a duration, and captions fit in it.
    private func checkTiming(_ o: MP4Options, root: JSONValue, name: String) throws(JobError) {
        guard !o.slides.isEmpty, o.audio == nil else { return }
        var total = 0.0
        for (i, s) in o.slides.enumerated() {
            guard let d = s.duration else {
                throw JobError(file: name, field: "slides[\(i)].duration", message: "missing; without \"audio\" every slide needs a duration in seconds")
            }
            total += d
        }
        if let last = o.captions.last(where: { $0.end > total + 0.001 }) {
            throw JobError(file: name, field: "captions", message: "a caption ends at \(fmt(last.end)) s, after the end of the video (\(fmt(total)) s, the sum of the slide durations)")
        }
    }

    // MARK: - Values

    /// 30 → 30/1; 29.97 → 30000/1001; 12.5 → 25/2.
    static func frameRate(_ d: Double) -> Fraction {
        if d == d.rounded() { return Fraction(Int(d), 1) }
        for base in [24.0, 30, 48, 60, 120] where abs(d - base * 1000 / 1001) < 0.01 {
            return Fraction(Int(base) * 1000, 1001)
        }
        var n = Int((d * 1000).rounded()), m = 1000
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let g = gcd(n, m)
        n /= g
        m /= g
        return Fraction(n, m)
    }

    /// An even width or height; `why` says what needs it even (mp4: H.264's 4:2:0 chroma).
    func dimension(_ root: JSONValue, _ field: String, name: String,
                   why: String = "for H.264 with 4:2:0 chroma") throws(JobError) -> Int {
        let v = root[field]!
        guard let i = v.intValue else { throw JobError(file: name, field: field, message: "expected a whole number of pixels, got \(show(v))") }
        guard i >= 16, i <= 4096 else { throw JobError(file: name, field: field, message: "must be from 16 to 4096 pixels (got \(i))") }
        guard i % 2 == 0 else { throw JobError(file: name, field: field, message: "must be even \(why) (got \(i); use \(i + 1) or \(i - 1))") }
        return Int(i)
    }

    func fitMode(_ v: JSONValue, field: String, name: String) throws(JobError) -> FitMode {
        guard let s = v.stringValue, let f = FitMode(rawValue: s) else {
            let hint = v.stringValue.flatMap { nearest($0, in: Set(FitMode.allCases.map(\.rawValue))) }.map { "; did you mean \"\($0)\"?" } ?? ""
            throw JobError(file: name, field: field, message: "unknown fit mode \(show(v)); one of \"cover\", \"contain\", \"stretch\"\(hint)")
        }
        return f
    }

    func color(_ v: JSONValue, field: String, name: String) throws(JobError) -> Color {
        guard let s = v.stringValue, let c = Color(hex: s) else {
            throw JobError(file: name, field: field, message: "expected a colour like \"#101820\" or \"#00000080\" (with alpha), got \(show(v))")
        }
        return c
    }

    func pathValue(_ v: JSONValue, field: String, name: String) throws(JobError) -> String {
        guard let s = v.stringValue else { throw JobError(file: name, field: field, message: "expected a file path string, got \(v.typeName)") }
        if let problem = PathRules.problem(with: s) { throw JobError(file: name, field: field, message: problem) }
        if mode == .stored && !s.hasPrefix("/") { throw JobError(file: name, field: field, message: "stored jobs hold absolute paths") }
        let absolute = PathRules.absolute(s, base: baseDirectory)
        if let problem = roots.problem(with: absolute, for: .input) { throw JobError(file: name, field: field, message: problem) }
        return absolute
    }

    private func seconds(_ v: JSONValue, field: String, name: String, min: Double = 0) throws(JobError) -> Double {
        guard let d = v.doubleValue, d.isFinite else { throw JobError(file: name, field: field, message: "expected a number of seconds, got \(show(v))") }
        guard d >= min, d <= 86_400 * 7 else { throw JobError(file: name, field: field, message: "must be from \(fmt(min)) to 604800 seconds (got \(fmt(d)))") }
        return d
    }

    private func slide(_ v: JSONValue, field f: String, name: String) throws(JobError) -> Slide {
        guard case let .object(pairs) = v else { throw JobError(file: name, field: f, message: "expected an object with an \"image\" or a \"background\", got \(v.typeName)") }
        for (k, _) in pairs where !JobDecoder.slideFields.contains(k) {
            let hint = nearest(k, in: JobDecoder.slideFields).map { "; did you mean \"\($0)\"?" } ?? ""
            throw JobError(file: name, field: "\(f).\(k)", message: "unknown field\(hint)")
        }
        var s = Slide()
        if let i = v["image"] { s.image = try pathValue(i, field: "\(f).image", name: name) }
        if let b = v["background"] { s.background = try color(b, field: "\(f).background", name: name) }
        guard s.image != nil || s.background != nil || v["text"] != nil else {
            throw JobError(file: name, field: f, message: "give an \"image\", a \"background\" colour or a \"text\"")
        }
        if let d = v["duration"] {
            let secs = try seconds(d, field: "\(f).duration", name: name)
            guard secs > 0 else { throw JobError(file: name, field: "\(f).duration", message: "must be more than 0 seconds") }
            s.duration = secs
        }
        if let m = v["fit"] { s.fit = try fitMode(m, field: "\(f).fit", name: name) }
        if let p = v["focus"] {
            guard let x = p["x"]?.doubleValue, let y = p["y"]?.doubleValue, (0...1).contains(x), (0...1).contains(y) else {
                throw JobError(file: name, field: "\(f).focus", message: "expected {\"x\": 0…1, \"y\": 0…1} (0,0 is the top left)")
            }
            s.focus = FocusPoint(x: x, y: y)
        }
        if let t = v["text"] { s.text = try text(t, field: "\(f).text", name: name) }
        if let st = v["style"] { s.style = try style(st, field: "\(f).style", name: name) }
        return s
    }

    func text(_ v: JSONValue, field: String, name: String) throws(JobError) -> String {
        guard let s = v.stringValue else { throw JobError(file: name, field: field, message: "expected a string, got \(v.typeName)") }
        guard s.utf8.count <= 4000, !s.utf8.contains(0) else { throw JobError(file: name, field: field, message: "must be at most 4000 bytes with no NUL") }
        return s
    }

    func style(_ v: JSONValue, field f: String, name: String) throws(JobError) -> TextStyle {
        guard case let .object(pairs) = v else { throw JobError(file: name, field: f, message: "expected an object of style fields, got \(v.typeName)") }
        for (k, _) in pairs where !JobDecoder.styleFields.contains(k) {
            let hint = nearest(k, in: JobDecoder.styleFields).map { "; did you mean \"\($0)\"?" } ?? ""
            throw JobError(file: name, field: "\(f).\(k)", message: "unknown style field\(hint)")
        }
        func number(_ k: String, _ range: ClosedRange<Double>) throws(JobError) -> Double? {
            guard let x = v[k] else { return nil }
            guard let d = x.doubleValue, range.contains(d) else {
                throw JobError(file: name, field: "\(f).\(k)", message: "must be a number from \(fmt(range.lowerBound)) to \(fmt(range.upperBound)) (got \(show(x)))")
            }
            return d
        }
        func col(_ k: String) throws(JobError) -> Color? { try v[k].map { (x) throws(JobError) in try color(x, field: "\(f).\(k)", name: name) } }
        var s = TextStyle()
        if let x = v["font"] {
            guard let fam = x.stringValue, !fam.isEmpty, fam.utf8.count <= 200, !fam.contains(","), !fam.contains("\n") else {
                throw JobError(file: name, field: "\(f).font", message: "expected a font family name such as \"DejaVu Sans\"")
            }
            s.font = fam
        }
        if let x = v["fontFile"] {
            if s.font != nil { throw JobError(file: name, field: "\(f).fontFile", message: "give either \"font\" (a family name) or \"fontFile\", not both") }
            s.fontFile = try pathValue(x, field: "\(f).fontFile", name: name)
        }
        s.fontSize = try number("fontSize", 4...1000)
        s.color = try col("color")
        s.highlightColor = try col("highlightColor")
        s.outline = try number("outline", 0...100)
        s.outlineColor = try col("outlineColor")
        s.shadow = try number("shadow", 0...100)
        s.shadowColor = try col("shadowColor")
        if let x = v["box"] {
            guard let b = x.boolValue else { throw JobError(file: name, field: "\(f).box", message: "expected true or false, got \(x.typeName)") }
            s.box = b
        }
        s.boxColor = try col("boxColor")
        if let x = v["position"] {
            guard let p = x.stringValue.flatMap(TextStyle.Position.init(rawValue:)) else {
                throw JobError(file: name, field: "\(f).position", message: "expected \"top\", \"middle\" or \"bottom\", got \(show(x))")
            }
            s.position = p
        }
        if let x = v["align"] {
            guard let a = x.stringValue.flatMap(TextStyle.Alignment.init(rawValue:)) else {
                throw JobError(file: name, field: "\(f).align", message: "expected \"left\", \"center\" or \"right\", got \(show(x))")
            }
            s.align = a
        }
        s.margin = try number("margin", 0...2000)
        s.maxWidth = try number("maxWidth", 16...4096)
        s.lineSpacing = try number("lineSpacing", 0.5...4)
        return s
    }

    // MARK: - Captions

    private func captions(_ v: JSONValue, name: String) throws(JobError) -> [CaptionCue] {
        var cues: [CaptionCue]
        switch v {
        case .string:
            let path = try pathValue(v, field: "captions", name: name)
            if mode == .stored { throw JobError(file: name, field: "captions", message: "stored jobs hold the cues inline") }
            let bytes: [UInt8]
            // Beneath the input roots when there are any; O_NONBLOCK so a FIFO cannot stall submit.
            let fd: Int32
            do {
                fd = roots.confines(.input) ? try openInput(path, field: "captions", asWritten: v.stringValue!, name: name)
                    : try Sys.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
            } catch let e as JobError { throw e } catch {
                let why = (error as? SystemError)?.errno == ENOENT ? "no such file" : "\(error)"
                throw JobError(file: name, field: "captions", message: "cannot read '\(v.stringValue!)': \(why)", category: .missingInput)
            }
            defer { Glibc.close(fd) }
            var st = stat()
            if fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG {
                throw JobError(file: name, field: "captions", message: "cannot read '\(v.stringValue!)': not a regular file", category: .missingInput)
            }
            do { bytes = try Sys.readAll(fd, limit: JobDecoder.maxCaptionFileBytes, path: path) } catch {
                let why = error.errno == ENOENT ? "no such file" : error.errno == EFBIG ? "larger than 16 MiB" : error.message
                throw JobError(file: name, field: "captions", message: "cannot read '\(v.stringValue!)': \(why)", category: .missingInput)
            }
            do { cues = try CaptionFile.parse(bytes) } catch {
                throw JobError(file: name, field: "captions", message: "\(v.stringValue!):\(error.line): \(error.message)")
            }
            for (i, c) in cues.enumerated() { try checkCue(c, field: "captions", where: "\(v.stringValue!): cue \(i + 1)", name: name) }
        case let .array(items):
            cues = []
            for (i, item) in items.enumerated() {
                let f = "captions[\(i)]"
                guard case let .object(pairs) = item else { throw JobError(file: name, field: f, message: "expected {\"start\": …, \"end\": …, \"text\": …}, got \(item.typeName)") }
                for (k, _) in pairs where !JobDecoder.cueFields.contains(k) {
                    throw JobError(file: name, field: "\(f).\(k)", message: "unknown field; one of start, end, text, words")
                }
                guard let s = item["start"], let e = item["end"], let t = item["text"] else {
                    throw JobError(file: name, field: f, message: "needs \"start\", \"end\" (seconds) and \"text\"")
                }
                var cue = CaptionCue(start: try seconds(s, field: "\(f).start", name: name), end: try seconds(e, field: "\(f).end", name: name),
                                     text: try text(t, field: "\(f).text", name: name))
                if let w = item["words"] {
                    guard case let .array(words) = w else { throw JobError(file: name, field: "\(f).words", message: "expected an array of {start, end, text}") }
                    for (j, word) in words.enumerated() {
                        let wf = "\(f).words[\(j)]"
                        guard let ws = word["start"], let we = word["end"], let wt = word["text"] else {
                            throw JobError(file: name, field: wf, message: "needs \"start\", \"end\" and \"text\"")
                        }
                        cue.words.append(.init(start: try seconds(ws, field: "\(wf).start", name: name), end: try seconds(we, field: "\(wf).end", name: name),
                                               text: try text(wt, field: "\(wf).text", name: name)))
                    }
                }
                try checkCue(cue, field: f, where: nil, name: name)
                cues.append(cue)
            }
        default:
            throw JobError(file: name, field: "captions", message: "expected the path of an .srt or .vtt file, or an array of {start, end, text}")
        }
        for i in cues.indices.dropFirst() where cues[i].start < cues[i - 1].start {
            throw JobError(file: name, field: v.stringValue == nil ? "captions[\(i)]" : "captions",
                           message: "\(v.stringValue.map { "\($0): cue \(i + 1): " } ?? "")starts at \(fmt(cues[i].start)) s, before the cue before it (\(fmt(cues[i - 1].start)) s); captions must be in time order")
        }
        return cues
    }

    private func checkCue(_ c: CaptionCue, field: String, where place: String?, name: String) throws(JobError) {
        let at = place.map { "\($0): " } ?? ""
        guard c.end > c.start else {
            throw JobError(file: name, field: field, message: "\(at)ends (\(fmt(c.end)) s) before it starts (\(fmt(c.start)) s)")
        }
        var previous = c.start
        for (j, w) in c.words.enumerated() {
            guard w.end >= w.start, w.start >= c.start - 0.001, w.end <= c.end + 0.001, w.start >= previous - 0.001 else {
                throw JobError(file: name, field: "\(field).words[\(j)]", message: "\(at)word timings must be in order and within the cue (\(fmt(c.start))–\(fmt(c.end)) s)")
            }
            previous = w.start
        }
    }

    func show(_ v: JSONValue) -> String {
        switch v {
        case let .string(s): return "\"\(s)\""
        case let .int(i): return String(i)
        case let .double(d): return fmt(d)
        default: return v.typeName
        }
    }
}
