import CFFmpeg
import CLibass
import ExportCore
import Glibc

/// Captions and slide text over the frames of an mp4, drawn by libass.
///
/// The texts become ASS scripts (`ASSScript`; one per distinct line gap,
/// since libass's line spacing is a renderer setting), each read into an
/// `ASS_Track` (`ass_read_memory`) with its own `ASS_Renderer`, sharing one
/// `ASS_Library`. Fonts come from fontconfig (`ass_set_fonts`, falling back to
/// "DejaVu Sans" for a family that is not installed); a style's `fontFile` is
/// added to the library as a memory font (`ass_add_font`) and selected by its
/// own face name. `prepare` renders the moment (`ass_render_frame`), `blend`
/// composites the resulting bitmaps onto the yuv420p frame.
final class TextLayer: FrameOverlay {
    /// A text shown for a span of the output: the text of a slide.
    struct TimedText {
        /// Seconds of the output.
        var start: Double
        var end: Double
        /// Lines separated by "\n".
        var text: String
        /// Its style, layered (slide over job); resolved again here for the frame height.
        var style: TextStyle

        init(start: Double, end: Double, text: String, style: TextStyle) {
            self.start = start
            self.end = end
            self.text = text
            self.style = style
        }
    }

    let width: Int
    let height: Int

    private let library: OpaquePointer
    private let messages = Messages()
    /// One renderer and track per script, drawn in this order.
    private var passes: [Pass] = []

    /// libass's images of the moment, as `ass_render_frame` returned them (the visible ones).
    private var raw = ContiguousArray<ASS_Image>()
    /// `raw` in runs: one image each, except consecutive box images of one colour that touch.
    private var runs = ContiguousArray<Run>()
    /// The bitmaps to blend, with their colour in the frame's Y'CbCr.
    private var images = ContiguousArray<Blit>()
    /// `images` is what some earlier `prepare` made (for the first call's answer).
    private var hasPrepared = false
    /// Colours of boxes and their shadows, as libass reports them (RGBA, alpha inverted).
    private var boxColours: [UInt32] = []
    /// The coverage of unioned box runs (see `prepare`); grows when a frame needs more.
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    /// A row of zeros standing in for bitmap rows outside an image (chroma of odd edges).
    private let zeros: UnsafeMutablePointer<UInt8>
    private let zerosCount: Int

    /// Renders `captions` in `captionStyle` and `texts` in their own styles on
    /// frames of `width`×`height`.
    ///
    /// Texts of the same line gap share one script, where libass's collision
    /// handling moves text that would overlap text already on screen (as a
    /// subtitle renderer stacks overlapping cues): a caption and a slide text
    /// both at the bottom are stacked, not drawn over each other. Texts of
    /// different line gaps are in separate scripts, drawn in order: slide text,
    /// then captions over it.
    init(width: Int, height: Int, captions: [CaptionCue], captionStyle: TextStyle, texts: [TimedText]) throws(RenderError) {
        guard width > 0, height > 0 else { throw .internal("text layer: invalid frame size \(width)x\(height)") }
        self.width = width
        self.height = height
        zerosCount = width + 2
        zeros = .allocate(capacity: zerosCount)
        zeros.initialize(repeating: 0, count: zerosCount)
        arenaCapacity = width * min(height, 512)
        arena = .allocate(capacity: arenaCapacity)
        guard let library = ass_library_init() else {
            zeros.deallocate()
            arena.deallocate()
            throw .internal("libass could not be initialised (ass_library_init failed)")
        }
        self.library = library
        clibass_keep_errors(library, messages.buffer)

        // Font files: loaded into the library before any renderer selects fonts.
        let captionStyle = captionStyle.resolved(frameHeight: height)
        let textStyles = texts.map { $0.style.resolved(frameHeight: height) }
        var fontFileNames: [String: String] = [:]
        for path in Set(([captionStyle] + textStyles).compactMap(\.fontFile)) {
            fontFileNames[path] = try addFont(path)
        }

        // One script per line gap: slide texts first, then captions (drawn above them).
        var scripts: [ASSScript] = []
        func script(for style: TextStyle) -> Int {
            let gap = ASSScript.lineGap(for: style, frameHeight: height)
            if let i = scripts.firstIndex(where: { $0.lineGap == gap }) { return i }
            scripts.append(ASSScript(width: width, height: height, lineGap: gap, fontFileNames: fontFileNames))
            return scripts.count - 1
        }
        for (t, style) in zip(texts, textStyles) where !t.text.isEmpty {
            scripts[script(for: style)].addText(t.text, from: t.start, to: t.end, style: style)
        }
        if captions.contains(where: { !$0.text.isEmpty }) {
            let i = script(for: captionStyle)
            for cue in captions { scripts[i].addCaption(cue, style: captionStyle) }
        }
        for s in scripts {
            passes.append(try Pass(script: s, library: library, messages: messages))
            for style in s.styles where style.box! {
                boxColours.append(TextLayer.libassColour(style.boxColor!))
                if style.shadow! > 0 { boxColours.append(TextLayer.libassColour(style.shadowColor!)) }
            }
        }
        raw.reserveCapacity(256)
        runs.reserveCapacity(256)
        images.reserveCapacity(256)
    }

    deinit {
        passes.removeAll()  // tracks and renderers before the library they belong to
        ass_library_done(library)
        zeros.deallocate()
        arena.deallocate()
    }

    /// Reads a font file and adds it to the library (`ass_add_font`, which copies it).
    /// - Returns: the name libass selects its face by.
    private func addFont(_ path: String) throws(RenderError) -> String {
        let file = try FileDescriptor.openInput(path)
        // fontconfig reads the face through the descriptor opened here (its
        // /proc/self/fd link), so the file checked is the file added.
        guard let face = FontCatalog.face(inFile: "/proc/self/fd/\(file.rawValue)") else {
            throw .invalidJob("font file '\(path)' is not a font FreeType can read")
        }
        let bytes: [UInt8]
        do {
            bytes = try TextLayer.readAll(file)
        } catch {
            throw .inputUnreadable(path: path, reason: error.message, transient: error.isTransient)
        }
        bytes.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) {
                ass_add_font(library, PathRules.basename(of: path), $0, Int32(b.count))
            }
        }
        return face.selectionName
    }

    private static func readAll(_ file: FileDescriptor, limit: Int = 256 << 20) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { file.read(into: $0.baseAddress!, count: $0.count) }
            if n < 0 { throw file.lastError ?? SystemError("read", file.path, errno: EIO) }
            if n == 0 { return out }
            out += chunk[0..<n]
            if out.count > limit { throw SystemError("read", file.path, errno: EFBIG) }
        }
    }

    // MARK: - FrameOverlay

    /// Renders the moment `seconds` (`ass_render_frame` at whole milliseconds, as the
    /// events' times are) and keeps the bitmaps for `blend`.
    ///
    /// libass draws a box per line, and where two lines' boxes meet at a
    /// fraction of a pixel both cover the seam row partly: blended one after
    /// the other that row would come out lighter than the box. So consecutive
    /// box (and box shadow) images of one colour that touch are first unioned
    /// into one coverage bitmap (coverages added, at most full), then blended once.
    /// - Returns: libass's change detection: true when the picture may differ from the previous call's.
    func prepare(at seconds: Double) throws(RenderError) -> Bool {
        let now = ASSScript.milliseconds(seconds)
        var changed = false
        raw.removeAll(keepingCapacity: true)
        for pass in passes {
            var change: Int32 = 0
            var image = ass_render_frame(pass.renderer, pass.track, now, &change)
            if change != 0 { changed = true }
            while let i = image {
                let img = i.pointee
                image = img.next
                // ASS alpha is inverted: 0xFF is invisible, nothing to blend.
                if img.color & 0xFF != 0xFF, img.w > 0, img.h > 0, img.bitmap != nil { raw.append(img) }
            }
        }
        // libass has no failure result here: an error while drawing (a glyph FreeType
        // cannot load) leaves that glyph out and the rest is drawn, so it is not a failure of the render.
        _ = messages.takeError()
        if !hasPrepared {
            hasPrepared = true
            changed = !raw.isEmpty
        }
        // Unchanged means the same bitmaps at the same places (libass compares the
        // bitmap pointers), so the blits and unions made last time still hold.
        guard changed else { return false }

        runs.removeAll(keepingCapacity: true)
        for (k, img) in raw.enumerated() {
            let r = Run(first: k, rect: Rect(x: Int(img.dst_x), y: Int(img.dst_y), w: Int(img.w), h: Int(img.h)), color: img.color,
                        box: img.type != IMAGE_TYPE_CHARACTER && boxColours.contains(img.color))
            if r.box, let last = runs.last, last.box, last.color == r.color, last.first + last.count == k, last.rect.touches(r.rect) {
                runs[runs.count - 1].count += 1
                runs[runs.count - 1].rect = last.rect.union(r.rect)
            } else {
                runs.append(r)
            }
        }
        var need = 0
        for run in runs where run.count > 1 { need += run.rect.w * run.rect.h }
        if need > arenaCapacity {
            arena.deallocate()
            arenaCapacity = max(need, 2 * arenaCapacity)
            arena = .allocate(capacity: arenaCapacity)
        }

        images.removeAll(keepingCapacity: true)
        var offset = 0
        for run in runs {
            let c = YUVColor(red: UInt8(run.color >> 24), green: UInt8(run.color >> 16 & 0xFF), blue: UInt8(run.color >> 8 & 0xFF))
            let alpha = 255 - Int(run.color & 0xFF)
            if run.count == 1 {
                let img = raw[run.first]
                images.append(Blit(bitmap: UnsafePointer(img.bitmap!), stride: Int(img.stride), x: run.rect.x, y: run.rect.y, w: run.rect.w,
                                   h: run.rect.h, alpha: alpha, luma: Int(c.y), cb: Int(c.u), cr: Int(c.v),
                                   red: Int(run.color >> 24), green: Int(run.color >> 16 & 0xFF), blue: Int(run.color >> 8 & 0xFF)))
                continue
            }
            let u = run.rect, base = arena + offset
            offset += u.w * u.h
            base.update(repeating: 0, count: u.w * u.h)
            for k in run.first..<(run.first + run.count) {
                let img = raw[k], src = img.bitmap!
                let dx = Int(img.dst_x) - u.x, dy = Int(img.dst_y) - u.y
                for row in 0..<Int(img.h) {
                    let s = src + row * Int(img.stride), d = base + (dy + row) * u.w + dx
                    for x in 0..<Int(img.w) where s[x] != 0 { d[x] = UInt8(min(255, Int(d[x]) + Int(s[x]))) }
                }
            }
            images.append(Blit(bitmap: UnsafePointer(base), stride: u.w, x: u.x, y: u.y, w: u.w, h: u.h,
                               alpha: alpha, luma: Int(c.y), cb: Int(c.u), cr: Int(c.v),
                               red: Int(run.color >> 24), green: Int(run.color >> 16 & 0xFF), blue: Int(run.color >> 8 & 0xFF)))
        }
        return true
    }

    var isEmpty: Bool { images.isEmpty }

    /// The rectangle the prepared bitmaps cover (text, outline, shadow and box), nil when empty.
    var bounds: (x: Int, y: Int, width: Int, height: Int)? {
        guard var r = images.first.map({ Rect(x: $0.x, y: $0.y, w: $0.w, h: $0.h) }) else { return nil }
        for b in images.dropFirst() { r = r.union(Rect(x: b.x, y: b.y, w: b.w, h: b.h)) }
        return (r.x, r.y, r.w, r.h)
    }

    /// Alpha-blends the prepared bitmaps, in order, onto a writable RGB24
    /// frame (the carousel's canvas), per pixel in sRGB.
    func blendRGB(onto frame: Frame) {
        guard frame.pixelFormat == AV_PIX_FMT_RGB24 else {
            assertionFailure("TextLayer.blendRGB needs an rgb24 frame")
            return
        }
        let plane = frame.data(0), stride = frame.linesize(0)
        for b in images {
            let x0 = max(b.x, 0), x1 = min(b.x + b.w, frame.width)
            let y0 = max(b.y, 0), y1 = min(b.y + b.h, frame.height)
            guard x0 < x1, y0 < y1 else { continue }
            let a = b.alpha, (cr, cg, cb) = (b.red, b.green, b.blue)
            for y in y0..<y1 {
                let src = b.bitmap + ((y - b.y) * b.stride - b.x)
                let row = plane + y * stride
                for x in x0..<x1 {
                    let m = Int(src[x])
                    if m == 0 { continue }
                    let k = m * a, inv = 65025 - k
                    let p = row + 3 * x
                    p[0] = UInt8(truncatingIfNeeded: (Int(p[0]) * inv + cr * k + 32512) / 65025)
                    p[1] = UInt8(truncatingIfNeeded: (Int(p[1]) * inv + cg * k + 32512) / 65025)
                    p[2] = UInt8(truncatingIfNeeded: (Int(p[2]) * inv + cb * k + 32512) / 65025)
                }
            }
        }
    }

    /// Alpha-blends the prepared bitmaps, in order, onto a writable yuv420p frame:
    /// luma per pixel, chroma per 2×2 block with the block's mean coverage.
    /// Integer arithmetic, no allocation.
    func blend(onto frame: Frame) {
        guard frame.pixelFormat == AV_PIX_FMT_YUV420P else {
            assertionFailure("TextLayer.blend needs a yuv420p frame")
            return
        }
        let fw = min(frame.width, zerosCount - 2), fh = frame.height
        let lumaPlane = frame.data(0), lumaStride = frame.linesize(0)
        let cbPlane = frame.data(1), cbStride = frame.linesize(1)
        let crPlane = frame.data(2), crStride = frame.linesize(2)
        for b in images {
            let x0 = max(b.x, 0), x1 = min(b.x + b.w, fw)
            let y0 = max(b.y, 0), y1 = min(b.y + b.h, fh)
            guard x0 < x1, y0 < y1 else { continue }
            let a = b.alpha

            // Luma: k = coverage × alpha in 0…255², out = dst + (c − dst) × k / 255².
            let cy = b.luma
            for y in y0..<y1 {
                let src = b.bitmap + ((y - b.y) * b.stride - b.x)
                let dst = lumaPlane + y * lumaStride
                for x in x0..<x1 {
                    let m = Int(src[x])
                    if m == 0 { continue }
                    let k = m * a
                    dst[x] = UInt8(truncatingIfNeeded: (Int(dst[x]) * (65025 - k) + cy * k + 32512) / 65025)
                }
            }

            // Chroma: the 2×2 block's summed coverage (0…4×255) × alpha, over 4×255².
            let cx0 = x0 >> 1, cx1 = (x1 + 1) >> 1
            let cyy0 = y0 >> 1, cyy1 = (y1 + 1) >> 1
            let zeroRow = UnsafePointer(zeros) + (1 - x0)  // zeroRow[x] is 0 for x in x0-1 ..< x1
            let (u, v) = (b.cb, b.cr)
            for row in cyy0..<cyy1 {
                let ly = 2 * row
                let r0 = ly >= y0 ? b.bitmap + ((ly - b.y) * b.stride - b.x) : zeroRow
                let r1 = ly + 1 < y1 ? b.bitmap + ((ly + 1 - b.y) * b.stride - b.x) : zeroRow
                let du = cbPlane + row * cbStride, dv = crPlane + row * crStride
                for col in cx0..<cx1 {
                    let lx = 2 * col
                    var s = 0
                    if lx >= x0 { s = Int(r0[lx]) + Int(r1[lx]) }
                    if lx + 1 < x1 { s += Int(r0[lx + 1]) + Int(r1[lx + 1]) }
                    if s == 0 { continue }
                    let k = s * a
                    du[col] = UInt8(truncatingIfNeeded: (Int(du[col]) * (260_100 - k) + u * k + 130_050) / 260_100)
                    dv[col] = UInt8(truncatingIfNeeded: (Int(dv[col]) * (260_100 - k) + v * k + 130_050) / 260_100)
                }
            }
        }
    }

    // MARK: - Parts

    /// A rectangle of pixels.
    private struct Rect {
        var x: Int, y: Int, w: Int, h: Int

        /// Overlapping or edge to edge.
        func touches(_ o: Rect) -> Bool { o.x <= x + w && x <= o.x + o.w && o.y <= y + h && y <= o.y + o.h }

        func union(_ o: Rect) -> Rect {
            let x0 = min(x, o.x), y0 = min(y, o.y)
            return Rect(x: x0, y: y0, w: max(x + w, o.x + o.w) - x0, h: max(y + h, o.y + o.h) - y0)
        }
    }

    /// Images `first ..< first + count` of `raw`, blended as one (see `prepare`).
    private struct Run {
        var first: Int
        var count = 1
        var rect: Rect
        var color: UInt32
        /// A box or box shadow, which may be unioned with the next.
        var box: Bool

        init(first: Int, rect: Rect, color: UInt32, box: Bool) {
            self.first = first
            self.rect = rect
            self.color = color
            self.box = box
        }
    }

    /// `c` as libass reports colours in `ASS_Image.color`: RGBA with the alpha inverted.
    static func libassColour(_ c: Color) -> UInt32 {
        UInt32(c.red) << 24 | UInt32(c.green) << 16 | UInt32(c.blue) << 8 | UInt32(255 - c.alpha)
    }

    /// One bitmap ready to blend.
    private struct Blit {
        var bitmap: UnsafePointer<UInt8>
        var stride: Int
        var x: Int, y: Int, w: Int, h: Int
        /// 0…255, 255 opaque.
        var alpha: Int
        var luma: Int, cb: Int, cr: Int
        /// The same colour in sRGB, for RGB canvases (the carousel).
        var red: Int = 0, green: Int = 0, blue: Int = 0
    }

    /// A renderer and the track it draws (`ass_renderer_init`/`ass_read_memory`;
    /// `ass_free_track`/`ass_renderer_done`).
    private final class Pass {
        let renderer: OpaquePointer
        let track: UnsafeMutablePointer<ASS_Track>

        init(script: ASSScript, library: OpaquePointer, messages: Messages) throws(RenderError) {
            guard let renderer = ass_renderer_init(library) else {
                throw .internal("libass could not start a renderer (ass_renderer_init failed: FreeType did not initialise)")
            }
            ass_set_frame_size(renderer, Int32(script.width), Int32(script.height))
            ass_set_storage_size(renderer, Int32(script.width), Int32(script.height))
            ass_set_shaper(renderer, ASS_SHAPING_COMPLEX)
            ass_set_hinting(renderer, ASS_HINTING_NONE)
            ass_set_line_spacing(renderer, Double(script.lineGap))
            ass_set_fonts(renderer, nil, TextStyle.defaultFont, Int32(ASS_FONTPROVIDER_AUTODETECT.rawValue), nil, 1)

            var text = Array(script.text.utf8CString)
            let track = text.withUnsafeMutableBufferPointer { ass_read_memory(library, $0.baseAddress, $0.count - 1, nil) }
            guard let track else {
                ass_renderer_done(renderer)
                throw .internal("libass could not read the text script\(messages.takeError().map { ": \($0)" } ?? "")")
            }
            self.renderer = renderer
            self.track = track

            // Exact times: the script says centiseconds, the events are whole milliseconds.
            let events = script.events
            guard Int(track.pointee.n_events) == events.count else {
                throw .internal("libass read \(track.pointee.n_events) text events from a script of \(events.count)\(messages.takeError().map { ": \($0)" } ?? "")")
            }
            for (i, e) in events.enumerated() {
                track.pointee.events[i].Start = e.start
                track.pointee.events[i].Duration = e.end - e.start
            }
            // Bidi over the whole event (a highlighted word must not split a right-to-left
            // line into runs laid out left to right), brackets paired as Unicode 6.3 says,
            // Unicode line breaking where libass has it (Debian's is built without libunibreak).
            _ = ass_track_set_feature(track, ASS_FEATURE_WHOLE_TEXT_LAYOUT, 1)
            _ = ass_track_set_feature(track, ASS_FEATURE_BIDI_BRACKETS, 1)
            _ = ass_track_set_feature(track, ASS_FEATURE_WRAP_UNICODE, 1)
            _ = messages.takeError()  // warnings while reading are not failures
        }

        deinit {
            ass_free_track(track)
            ass_renderer_done(renderer)
        }
    }

    /// The last error libass reported (`clibass_keep_errors`, the shim's message callback).
    private final class Messages {
        let buffer: UnsafeMutablePointer<clibass_messages>

        init() {
            buffer = .allocate(capacity: 1)
            buffer.initialize(to: clibass_messages())
        }

        deinit { buffer.deallocate() }

        /// The last error since the previous call, if any.
        func takeError() -> String? {
            guard buffer.pointee.has_error != 0 else { return nil }
            buffer.pointee.has_error = 0
            return withUnsafeBytes(of: &buffer.pointee.last_error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
    }
}
