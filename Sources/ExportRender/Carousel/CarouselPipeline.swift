import CFFmpeg
import Dispatch
import ExportCore
import Glibc
import Synchronization

/// Renders a carousel job into a temp folder of slides (`01.png`, … and
/// `manifest.json`, written last) or a temp PDF, then verifies it.
///
/// Each slide is composed once in RGB: the picture (`StillImage`, decoded
/// once per file even when several slides crop it differently, and fitted by
/// `SlideCanvas`), the text at the size `CarouselLayout` chose, and the page
/// number. Slides are composed and encoded on two workers (the text layers
/// are shared, so drawing text is serialised; decoding and scaling are not).
/// Every file is fsynced, then the folder; the caller renames the folder
/// into place as a whole.
public final class CarouselPipeline {
    public let job: Job
    public let tempPath: String
    private let onProgress: (Double, RenderStage) -> Void

    /// Workers composing and encoding slides at once (this machine class has two cores).
    static let workers = 2

    public init(job: Job, tempPath: String, progress: @escaping (Double, RenderStage) -> Void = { _, _ in }) {
        self.job = job
        self.tempPath = tempPath
        onProgress = progress
    }

    private var o: CarouselOptions { job.carousel }

    public func run() throws(RenderError) -> RenderResult {
        try TempOutput.removedOnFailure(tempPath) { (created: inout Bool) throws(RenderError) in try render(created: &created) }
    }

    /// One written slide, for the manifest (a PDF's pages keep their JPEG until the PDF is written).
    struct SlideFile {
        var name: String
        var size: Int
        var sha256: String
        var pageJPEG: [UInt8]?
    }

    private func render(created: inout Bool) throws(RenderError) -> RenderResult {
        onProgress(0, .probing)
        let layout = try CarouselLayout(options: o)
        var images: [String: StillImage] = [:]
        for s in o.slides {
            if let p = s.image, images[p] == nil { images[p] = try StillImage(path: p) }
        }
        let isPDF = o.format == .pdf
        if !isPDF {
            do { try FileDescriptor.makeDirectory(tempPath) } catch { throw .io(error) }
            created = true
        }
        onProgress(0, .encoding)
        let covers = try sharedCovers(images)
        // A picture that only cover slides crop is not needed once scaled: free the decoded original.
        for (path, _) in covers where !o.slides.contains(where: { $0.image == path && $0.fit != .cover }) { images[path] = nil }
        let files = try composeAndEncode(layout: layout, images: images, covers: covers)

        var total: Int64 = 0
        if isPDF {
            let pages = files.map { PDFWriter.Page(jpeg: $0.pageJPEG ?? [], width: o.width, height: o.height) }
            let pdf = PDFWriter.document(pages: pages)
            created = true
            try write(pdf, to: tempPath)
            total = Int64(pdf.count)
            onProgress(1, .verifying)
            try verifyPDF()
        } else {
            total = files.reduce(0) { $0 + Int64($1.size) }
            let manifest = self.manifest(files).jsonText() + "\n"
            try write(Array(manifest.utf8), to: tempPath + "/manifest.json")
            total += Int64(manifest.utf8.count)
            do { try Sys.fsyncDirectory(tempPath) } catch { throw .io(error) }
        }
        return RenderResult(duration: 0, bytes: total, mediaSeconds: 0, codec: o.format.rawValue, sampleRate: 0, channels: 0,
                            bitrate: 0, width: o.width, height: o.height, frames: nil, slides: files.count)
    }

    /// Composes and encodes every slide on `workers` threads; results in slide order.
    private func composeAndEncode(layout: CarouselLayout, images: [String: StillImage],
                                  covers: [String: Frame]) throws(RenderError) -> [SlideFile] {
        let n = o.slides.count
        let format: CarouselOptions.Format = o.format == .pdf ? .jpeg : o.format
        final class Shared: @unchecked Sendable {
            let next = Atomic<Int>(0)
            let textLock = Mutex<Void>(())
            let results = Mutex<[Int: Result<SlideFile, RenderError>]>([:])
        }
        let shared = Shared()
        nonisolated(unsafe) let context = (self, layout, images, covers, format)
        DispatchQueue.concurrentPerform(iterations: min(CarouselPipeline.workers, n)) { _ in
            let (me, layout, images, covers, format) = context
            let encoder: SlideFileEncoder
            do throws(RenderError) {
                encoder = try SlideFileEncoder(format: format, quality: me.o.quality, width: me.o.width, height: me.o.height)
            } catch {
                shared.results.withLock { $0[-1] = .failure(error) }
                return
            }
            while true {
                let i = shared.next.add(1, ordering: .relaxed).oldValue
                guard i < n, !Cancellation.isRequested else { return }
                let r = Result { () throws(RenderError) -> SlideFile in
                    try me.slide(i, layout: layout, images: images, covers: covers, encoder: encoder, textLock: shared.textLock)
                }
                let done = shared.results.withLock { results -> Int in
                    results[i] = r
                    return results.count
                }
                me.onProgress(Double(done) / Double(n), .encoding)
                if case .failure = r { shared.next.store(n, ordering: .relaxed) }
            }
        }
        if Cancellation.isRequested { throw .cancelled(path: job.output) }
        let results = shared.results.withLock { $0 }
        if case let .failure(e)? = results[-1] { throw e }
        var files: [SlideFile] = []
        for i in 0..<n {
            guard let r = results[i] else { throw .internal("slide \(i + 1) was not rendered") }
            files.append(try r.get())
        }
        return files
    }

    /// Slide `i` composed in RGB, encoded, and (in a folder) written, read back and checked.
    private func slide(_ i: Int, layout: CarouselLayout, images: [String: StillImage], covers: [String: Frame],
                       encoder: SlideFileEncoder, textLock: borrowing Mutex<Void>) throws(RenderError) -> SlideFile {
        let s = o.slides[i]
        let frame: Frame
        if s.fit == .cover, let path = s.image, let cover = covers[path] {
            frame = try crop(cover, focus: s.focus)
        } else {
            let canvas = SlideCanvas(width: o.width, height: o.height, fit: s.fit, focus: s.focus, background: s.background ?? o.background)
            frame = try canvas.render(s.image.flatMap { images[$0] }, as: .rgb24)
        }
        try textLock.withLock { _ throws(RenderError) in
            for layer in [layout.text, layout.pageNumbers] {
                guard let layer else { continue }
                _ = try layer.prepare(at: CarouselLayout.time(of: i))
                layer.blendRGB(onto: frame)
            }
        }
        let bytes = try encoder.encode(frame)
        let digits = max(2, String(o.slides.count).count)
        let number = String(i + 1)
        let name = String(repeating: "0", count: digits - number.count) + number + "." + o.format.fileExtension
        let sha = SHA256.hex(SHA256.hash(bytes))
        if o.format == .pdf { return SlideFile(name: name, size: bytes.count, sha256: sha, pageJPEG: bytes) }
        let path = tempPath + "/" + name
        try write(bytes, to: path)
        // Read back from disk: it decodes, at exactly the slide size.
        if o.format == .png {
            let back: [UInt8]
            do { back = try Sys.readFile(path, limit: bytes.count + 1) } catch { throw .io(error) }
            if let problem = PNGWriter.problem(in: back, width: o.width, height: o.height) {
                throw .verify(path: job.output, reason: "\(name) does not decode: \(problem)")
            }
            return SlideFile(name: name, size: bytes.count, sha256: sha, pageJPEG: nil)
        }
        let image: StillImage
        do { image = try StillImage(path: path) } catch {
            throw .verify(path: job.output, reason: "\(name) does not decode: \(error)")
        }
        guard image.width == o.width, image.height == o.height else {
            throw .verify(path: job.output, reason: "\(name) is \(image.width)×\(image.height), expected \(o.width)×\(o.height)")
        }
        return SlideFile(name: name, size: bytes.count, sha256: sha, pageJPEG: nil)
    }

    /// Images without transparency that several `cover` slides crop: each is
    /// scaled once to the cover size (the slide's height or width, the other
    /// side larger), so each of those slides is a crop of it, not a scale of the original.
    private func sharedCovers(_ images: [String: StillImage]) throws(RenderError) -> [String: Frame] {
        var uses: [String: Int] = [:]
        for s in o.slides where s.fit == .cover { if let p = s.image { uses[p, default: 0] += 1 } }
        var covers: [String: Frame] = [:]
        for (path, count) in uses where count > 1 {
            guard let image = images[path], !image.hasAlpha else { continue }
            let scale = max(Double(o.width) / Double(image.width), Double(o.height) / Double(image.height))
            let w = max(o.width, Int((Double(image.width) * scale).rounded()))
            let h = max(o.height, Int((Double(image.height) * scale).rounded()))
            covers[path] = try SlideCanvas(width: w, height: h, fit: .stretch).render(image, as: .rgb24)
        }
        return covers
    }

    /// The slide-sized part of a scaled cover picture around `focus` (as `SlideCanvas` places a cover crop).
    private func crop(_ cover: Frame, focus: FocusPoint) throws(RenderError) -> Frame {
        func start(_ f: Double, _ size: Int, _ crop: Int) -> Int {
            Int(min(max(min(max(f, 0), 1) * Double(size) - Double(crop) / 2, 0), Double(size - crop)).rounded())
        }
        let x = start(focus.x, cover.width, o.width), y = start(focus.y, cover.height, o.height)
        do {
            let out = try Frame()
            try out.allocateVideo(width: o.width, height: o.height, format: AV_PIX_FMT_RGB24)
            let src = cover.data(0), ss = cover.linesize(0), dst = out.data(0), ds = out.linesize(0)
            for row in 0..<o.height { (dst + row * ds).update(from: src + (y + row) * ss + 3 * x, count: 3 * o.width) }
            return out
        } catch {
            throw .internal("out of memory: \(error)")
        }
    }

    /// `manifest.json`: the job, the format and size, and each slide's file, size, bytes and SHA-256.
    private func manifest(_ files: [SlideFile]) -> JSONValue {
        .compactObject([
            ("job", job.id.map { .string($0.rawValue) }),
            ("format", .string(o.format.rawValue)),
            ("width", .int(Int64(o.width))),
            ("height", .int(Int64(o.height))),
            ("slides", .array(files.map { f in
                .object([("file", .string(f.name)), ("width", .int(Int64(o.width))), ("height", .int(Int64(o.height))),
                         ("bytes", .int(Int64(f.size))), ("sha256", .string(f.sha256))])
            })),
        ])
    }

    /// Writes `bytes` to a new file, fsynced and closed.
    private func write(_ bytes: [UInt8], to path: String) throws(RenderError) {
        do throws(SystemError) {
            let f = try FileDescriptor.createExclusive(path)
            let ok = bytes.withUnsafeBytes { f.writeAll($0.baseAddress!, count: $0.count) }
            if !ok { throw f.lastError ?? SystemError("write", path, errno: EIO) }
            try f.sync()
            try f.close()
        } catch {
            throw .io(error)
        }
    }

    /// The PDF read back from disk: one page per slide, each page and its picture the slide's size.
    private func verifyPDF() throws(RenderError) {
        func fail(_ reason: String) -> RenderError { .verify(path: job.output, reason: reason) }
        let bytes: [UInt8]
        do { bytes = try Sys.readFile(tempPath, limit: 1 << 30) } catch { throw .io(error) }
        guard let pages = PDFWriter.pages(of: bytes) else { throw fail("the PDF cannot be read back") }
        guard pages.count == o.slides.count else { throw fail("expected \(o.slides.count) pages, found \(pages.count)") }
        for (i, p) in pages.enumerated() where p.width != o.width || p.height != o.height || p.imageWidth != o.width || p.imageHeight != o.height {
            throw fail("page \(i + 1) is \(p.width)×\(p.height) with a \(p.imageWidth)×\(p.imageHeight) picture, expected \(o.width)×\(o.height)")
        }
    }
}
