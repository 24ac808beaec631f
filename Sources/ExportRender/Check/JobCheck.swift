import CFFmpeg
import ExportCore
import Glibc

/// `exportctl-render --check JOBFILE`: the submit-time rules of a job that
/// need its media read, so a bad job is refused by `submit` rather than
/// failing later in the daemon.
///
/// For an mp4: the audio (or the video to re-encode) is probed for its
/// length, which the trim must leave something of, and which captions and
/// slides with durations must fit in; every slide image must be an image
/// FFmpeg reads; every font the job's text uses must be installed. Nothing
/// is decoded beyond the headers, so the check takes milliseconds.
public struct JobCheck {
    /// A problem with the job, naming the field to fix.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var field: String?
        public var message: String
        /// The file named by the field cannot be read (rather than being wrong).
        public var unreadable: Bool = false
        public var description: String { field.map { "\"\($0)\": \(message)" } ?? message }
    }

    public let job: Job
    let policy = InputPolicy()

    public init(job: Job) {
        self.job = job
    }

    /// Runs the checks; returns the seconds of media the job will render
    /// (an mp4's trimmed length), which `submit` estimates its time from.
    @discardableResult
    public func run() throws(Problem) -> Double? {
        if job.kind == .carousel { try checkCarousel(job.carousel); return nil }
        guard job.kind == .mp4 else { return nil }
        let o = job.mp4
        var length: Double?
        if !job.input.isEmpty {
            length = try mediaLength(job.input, field: "input", needVideo: true)
        } else if let audio = o.audio {
            length = try mediaLength(audio, field: "audio", needVideo: false)
        } else {
            length = o.slides.reduce(0) { $0 + ($1.duration ?? 0) }
        }
        if let length, !o.slides.isEmpty, o.audio != nil { try checkSlides(o.slides, fit: length) }
        if let length, let last = o.captions.last(where: { $0.end > length + 0.05 }) {
            throw Problem(field: "captions", message: "a caption ends at \(RenderError.seconds(last.end)) s, after the end of the \(o.audio != nil ? "audio" : "video") (\(RenderError.seconds(length)) s\(job.start != nil || job.duration != nil ? " after the trim" : ""))")
        }
        for (i, slide) in o.slides.enumerated() {
            if let image = slide.image { try checkImage(image, field: "slides[\(i)].image") }
        }
        try checkFonts(o)
        return length
    }

    // MARK: - Length

    /// The seconds of `path` the job uses: its length less `start`, at most `duration`.
    private func mediaLength(_ path: String, field: String, needVideo: Bool) throws(Problem) -> Double? {
        let name = PathRules.basename(of: path)
        let input: InputContainer
        let file: FileDescriptor
        do { file = try FileDescriptor.openInput(path) } catch {
            throw Problem(field: field, message: JobCheck.unreadable(error), unreadable: true)
        }
        do {
            let io = try CustomIO(reading: file)
            let format = try InputContainer.probe(io, name: name, policy: policy)
            let formatName = String(cString: format.pointee.name)
            guard policy.allows(formatNamed: formatName) else {
                let what = JobCheck.imageFormats.contains(formatName) ? "an image" : "in a format not accepted (\(formatName))"
                throw Problem(field: field, message: "'\(path)' is \(what); give an audio\(needVideo ? " or video" : "") file")
            }
            input = try InputContainer(io: io, format: format, name: name, policy: policy)
        } catch let p as Problem {
            throw p
        } catch let e as SystemError {
            throw Problem(field: field, message: "cannot read '\(path)': \(e.message)", unreadable: true)
        } catch {
            throw Problem(field: field, message: "'\(path)' is not a media file FFmpeg reads (\(error))")
        }
        let types = (0..<input.streamCount).map(input.stream).filter { $0.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 }
            .map { $0.pointee.codecpar.pointee.codec_type }
        if needVideo {
            guard types.contains(AVMEDIA_TYPE_VIDEO) else {
                throw Problem(field: field, message: "'\(path)' has no video stream; to put pictures over audio, give \"audio\" and \"slides\"")
            }
        } else {
            guard types.contains(AVMEDIA_TYPE_AUDIO) else { throw Problem(field: field, message: "'\(path)' has no audio stream") }
        }
        guard let total = input.durationSeconds else { return nil }
        let start = job.start ?? 0
        if start >= total {
            throw Problem(field: "start", message: "is \(RenderError.seconds(start)) s but '\(name)' is only \(RenderError.seconds(total)) s long")
        }
        var length = total - start
        if let d = job.duration { length = min(length, d) }
        return length
    }

    /// Slides with durations must start before the audio ends; slides without one need time left to share.
    private func checkSlides(_ slides: [Slide], fit length: Double) throws(Problem) {
        let flexible = slides.indices.filter { slides[$0].duration == nil }
        let fixed = slides.reduce(0) { $0 + ($1.duration ?? 0) }
        if let first = flexible.first, fixed >= length - 0.001 {
            throw Problem(field: "slides[\(first)]", message: "has no duration and no time is left for it: the slides with durations fill the \(RenderError.seconds(length)) s of audio")
        }
        var at = 0.0
        for (i, s) in slides.enumerated() {
            if at >= length - 0.001 {
                throw Problem(field: "slides[\(i)]", message: "would start at \(RenderError.seconds(at)) s, when the audio (\(RenderError.seconds(length)) s) has ended; shorten the slides before it or remove it")
            }
            at += s.duration ?? 0
        }
    }

    // MARK: - Images

    static var imageFormats: [String] { StillImage.formats }

    private func checkImage(_ path: String, field: String) throws(Problem) {
        let file: FileDescriptor
        do { file = try FileDescriptor.openInput(path) } catch {
            throw Problem(field: field, message: JobCheck.unreadable(error), unreadable: true)
        }
        do {
            let io = try CustomIO(reading: file)
            // By content only: with a name, ".jpg" would select image2 (a file sequence reader).
            let format = try InputContainer.probe(io, name: "", policy: policy)
            let name = String(cString: format.pointee.name)
            guard JobCheck.imageFormats.contains(name) else {
                throw Problem(field: field, message: "'\(path)' is not a still image (found \(name)); use PNG, JPEG, WebP, BMP, TIFF or GIF")
            }
        } catch let p as Problem {
            throw p
        } catch {
            throw Problem(field: field, message: "'\(path)' is not an image FFmpeg reads (\(error))")
        }
    }

    // MARK: - Fonts

    /// Every font family a style names must be installed and every `fontFile`
    /// must be a font FreeType reads (`FontCatalog`, the lookup the text layer
    /// uses); when text is drawn in the default family, it must be installed too.
    private func checkFonts(_ o: MP4Options) throws(Problem) {
        var styles: [(TextStyle, String)] = [(o.style, "style"), (o.captionStyle, "captionStyle")]
        for (i, slide) in o.slides.enumerated() { styles.append((slide.style, "slides[\(i)].style")) }
        var drawn: [TextStyle] = o.captions.contains { !$0.text.isEmpty } ? [o.resolvedCaptionStyle] : []
        drawn += o.slides.filter { !($0.text ?? "").isEmpty }.map { $0.style.over(o.style) }
        try checkFonts(styles, drawn: drawn)
    }

    /// `styles`, each with the field it came from, and the layered styles text is drawn in.
    private func checkFonts(_ styles: [(TextStyle, String)], drawn: [TextStyle]) throws(Problem) {
        for (style, field) in styles {
            if let family = style.font, !FontCatalog.isInstalled(family: family) {
                throw Problem(field: "\(field).font", message: "font '\(family)' is not installed (fc-list : family shows the installed families)")
            }
            if let path = style.fontFile { try checkFontFile(path, field: "\(field).fontFile") }
        }
        if drawn.contains(where: { $0.font == nil && $0.fontFile == nil }), !FontCatalog.isInstalled(family: TextStyle.defaultFont) {
            throw Problem(field: "style.font", message: "the default font '\(TextStyle.defaultFont)' is not installed (fc-list : family shows the installed families); install it (Debian: fonts-dejavu-core) or name an installed font")
        }
    }

    // MARK: - Carousel

    /// Images are images, fonts are installed, and every slide's text fits
    /// its padding box at some size down to `minFontSize` (the render's own layout).
    private func checkCarousel(_ o: CarouselOptions) throws(Problem) {
        for (i, slide) in o.slides.enumerated() {
            if let image = slide.image { try checkImage(image, field: "slides[\(i)].image") }
        }
        var styles: [(TextStyle, String)] = [(o.style, "style")]
        for (i, slide) in o.slides.enumerated() { styles.append((slide.style, "slides[\(i)].style")) }
        let drawn = o.slides.filter { !($0.text ?? "").isEmpty }.map { $0.style.over(o.style) } + (o.pageNumbers ? [o.style] : [])
        try checkFonts(styles, drawn: drawn)
        do {
            _ = try CarouselLayout(options: o)
        } catch {
            guard case let .invalidJob(m) = error else { throw Problem(field: "style", message: error.description) }
            // "\"slides[3].text\": does not fit …": the field, then the message.
            let parts = m.split(separator: "\": ", maxSplits: 1)
            if m.hasPrefix("\""), parts.count == 2 { throw Problem(field: String(parts[0].dropFirst()), message: String(parts[1])) }
            throw Problem(field: nil, message: m)
        }
    }

    private func checkFontFile(_ path: String, field: String) throws(Problem) {
        let file: FileDescriptor
        do { file = try FileDescriptor.openInput(path) } catch {
            throw Problem(field: field, message: JobCheck.unreadable(error), unreadable: true)
        }
        guard FontCatalog.face(inFile: "/proc/self/fd/\(file.rawValue)") != nil else {
            throw Problem(field: field, message: "'\(path)' is not a font file FreeType can read (TrueType, OpenType, WOFF, Type 1)")
        }
    }
}

extension JobCheck {
    /// A file the check could not open, as the check's messages say it: `cannot read 'PATH': REASON`.
    static func unreadable(_ error: RenderError) -> String {
        if case let .inputUnreadable(path, reason, _) = error { return "cannot read '\(path)': \(reason)" }
        return error.description
    }
}
