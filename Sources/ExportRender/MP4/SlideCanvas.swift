import CFFmpeg
import ExportCore

/// A slide's picture fitted into a frame of the output size, on the slide's
/// background colour: what one slide looks like before text is drawn on it.
///
/// Made once per slide, not per output frame. The picture is scaled once,
/// with swscale (bicubic, like the ffmpeg CLI's scale filter), from the
/// decoder's pixel format straight to the rectangle it fills: for `cover`
/// only the cropped part of the source is read, and the EXIF rotation is
/// applied afterwards to the (small) scaled result. Only a picture with
/// transparency goes through RGBA, to be composited over the background.
///
/// `render(_:as:)` gives a yuv420p frame (BT.601, limited range: what the
/// H.264 encoder gets) for the mp4, or RGBA / RGB24 pixels of the same
/// canvas (full range sRGB) for still outputs.
struct SlideCanvas {
    /// The frame size.
    let width: Int
    let height: Int
    var fit: FitMode
    /// What `cover` keeps in view, 0…1 from the left and the top of the picture as shown.
    var focus: FocusPoint
    /// Shows around a `contain`ed picture, behind transparent pixels, and alone when there is no picture.
    /// Its alpha only matters for `.rgba` canvases.
    var background: Color

    init(width: Int, height: Int, fit: FitMode = .cover, focus: FocusPoint = FocusPoint(), background: Color = .black) {
        self.width = width
        self.height = height
        self.fit = fit
        self.focus = focus
        self.background = background
    }

    /// The canvas of one slide of an mp4 job: its fit (cover when the slide
    /// gives none), focus and background (the job's when it gives none).
    init(slide: Slide, options: MP4Options) {
        self.init(width: options.width, height: options.height, fit: slide.fit ?? .cover, focus: slide.focus,
                  background: slide.background ?? options.background)
    }

    /// Pixel formats a canvas can be made in.
    enum PixelFormat: Sendable, CaseIterable {
        /// Planar Y'CbCr 4:2:0, BT.601 limited range (the mp4's frames).
        case yuv420p
        /// 8-bit sRGB with straight alpha, one plane.
        case rgba
        /// 8-bit sRGB, one plane.
        case rgb24

        var avFormat: AVPixelFormat {
            switch self {
            case .yuv420p: return AV_PIX_FMT_YUV420P
            case .rgba: return AV_PIX_FMT_RGBA
            case .rgb24: return AV_PIX_FMT_RGB24
            }
        }
    }

    // MARK: - Geometry

    /// A rectangle in continuous pixel coordinates (pixel i spans i…i+1).
    struct Rect: Equatable, Sendable {
        var x: Double
        var y: Double
        var width: Double
        var height: Double
    }

    /// Where a picture goes: the part of it that shows, and where in the frame.
    struct Placement: Equatable, Sendable {
        /// In the picture's pixels as shown (after EXIF orientation).
        var source: Rect
        /// In the frame's pixels.
        var x: Int
        var y: Int
        var width: Int
        var height: Int
    }

    /// Where a picture of `imageWidth`×`imageHeight` (as shown) goes in this canvas.
    ///
    /// `cover` scales to fill the frame and crops what overflows, keeping the
    /// focus as central as the picture's edges allow; `contain` scales to fit
    /// and centres; `stretch` fills exactly.
    /// - Parameter alignment: the placed rectangle's position and size are
    ///   multiples of it where they do not reach the frame's edge (2 for 4:2:0 chroma).
    func placement(imageWidth: Int, imageHeight: Int, alignment: Int = 1) -> Placement {
        let (fw, fh) = (Double(width), Double(height))
        let (iw, ih) = (Double(max(imageWidth, 1)), Double(max(imageHeight, 1)))
        let whole = Rect(x: 0, y: 0, width: iw, height: ih)
        switch fit {
        case .stretch:
            return Placement(source: whole, x: 0, y: 0, width: width, height: height)
        case .cover:
            let scale = max(fw / iw, fh / ih)
            let (cw, ch) = (min(iw, fw / scale), min(ih, fh / scale))
            func start(_ focus: Double, _ size: Double, _ crop: Double) -> Double {
                min(max(min(max(focus, 0), 1) * size - crop / 2, 0), size - crop)
            }
            let source = Rect(x: start(focus.x, iw, cw), y: start(focus.y, ih, ch), width: cw, height: ch)
            return Placement(source: source, x: 0, y: 0, width: width, height: height)
        case .contain:
            let scale = min(fw / iw, fh / ih)
            func size(_ exact: Double, _ limit: Int) -> Int {
                let n = Int(exact.rounded())
                if n >= limit { return limit }
                return min(limit, max(alignment, (n + alignment / 2) / alignment * alignment))
            }
            let (w, h) = (size(iw * scale, width), size(ih * scale, height))
            let x = (width - w) / 2 / alignment * alignment, y = (height - h) / 2 / alignment * alignment
            return Placement(source: whole, x: x, y: y, width: w, height: h)
        }
    }

    // MARK: - Rendering

    /// The composed canvas: a new frame of exactly `width`×`height` in `format`,
    /// the background with `image` (if any) fitted on it.
    /// - Throws: `.invalidMedia` when swscale cannot read the picture's pixel
    ///   format, `.internal` when memory runs out.
    func render(_ image: StillImage?, as format: PixelFormat = .yuv420p) throws(RenderError) -> Frame {
        do {
            return try compose(image, format: format)
        } catch let e as RenderError {
            throw e
        } catch {
            if (error as? AVError) == .noMemory { throw .internal("out of memory while fitting '\(image?.path ?? "")'") }
            if let image {
                let name = av_get_pix_fmt_name(image.frame.pixelFormat).map { String(cString: $0) } ?? "unknown"
                throw .invalidMedia(path: image.path, action: "scale", reason: (error as? AVError) == AVError(errno: ENOSYS)
                    ? "its pixel format '\(name)' cannot be converted" : "\(error)")
            }
            throw .internal("could not make a \(width)x\(height) slide: \(error)")
        }
    }

    private func compose(_ image: StillImage?, format: PixelFormat) throws -> Frame {
        let out = try SlideCanvas.frame(width: width, height: height, format: format.avFormat)
        guard let image else {
            SlideCanvas.fill(out, with: background, format: format)
            return out
        }
        let placement = self.placement(imageWidth: image.width, imageHeight: image.height,
                                       alignment: format == .yuv420p ? 2 : 1)
        // The picture covers the whole frame (cover, stretch) but for a letterbox.
        if placement.width < width || placement.height < height { SlideCanvas.fill(out, with: background, format: format) }
        var source = image.frame
        // 1-bit pictures cannot be cropped at any pixel: widen them to gray first (they are small).
        if let d = av_pix_fmt_desc_get(source.pixelFormat), d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_BITSTREAM) != 0 {
            let gray = try SlideCanvas.frame(width: source.width, height: source.height, format: AV_PIX_FMT_GRAY8)
            try Scaler(from: source, width: source.width, height: source.height, to: gray).scale(source, x: 0, y: 0, into: gray, x: 0, y: 0)
            source = gray
        }

        // The stored rectangle behind the shown crop, in whole pixels, its
        // corner on the chroma grid of a subsampled source.
        let orientation = image.orientation
        let r = orientation.storedRect((placement.source.x, placement.source.y, placement.source.width, placement.source.height),
                                       width: source.width, height: source.height)
        let (ax, ay) = SlideCanvas.chromaGrid(source.pixelFormat)
        func span(_ start: Double, _ length: Double, _ limit: Int, _ grid: Int) -> (Int, Int) {
            var s = min(max(Int(start.rounded()), 0), limit - 1)
            s -= s % grid
            let n = min(max(Int(length.rounded()), 1), limit - s)
            return (s, n)
        }
        let (sx, sw) = span(r.x, r.width, source.width, ax)
        let (sy, sh) = span(r.y, r.height, source.height, ay)

        // The scaled picture in stored orientation.
        let (tw, th) = orientation.swapsAxes ? (placement.height, placement.width) : (placement.width, placement.height)
        let composite = image.hasAlpha
        let scaledFormat = composite ? AV_PIX_FMT_RGBA : format.avFormat

        if !composite && orientation == .normal {
            // The common case (an opaque, upright photo): one scale, straight into the canvas.
            try Scaler(from: source, width: sw, height: sh, to: out, width: tw, height: th)
                .scale(source, x: sx, y: sy, into: out, x: placement.x, y: placement.y)
            return out
        }
        var scaled = try SlideCanvas.frame(width: tw, height: th, format: scaledFormat)
        try Scaler(from: source, width: sw, height: sh, to: scaled).scale(source, x: sx, y: sy, into: scaled, x: 0, y: 0)
        if composite {
            SlideCanvas.composite(scaled, over: background, keepAlpha: format == .rgba)
            if format != .rgba {
                let converted = try SlideCanvas.frame(width: tw, height: th, format: format.avFormat)
                try Scaler(from: scaled, width: tw, height: th, to: converted).scale(scaled, x: 0, y: 0, into: converted, x: 0, y: 0)
                scaled = converted
            }
        }
        SlideCanvas.place(scaled, into: out, x: placement.x, y: placement.y, orientation: orientation, format: format)
        return out
    }

    /// A new frame with its own buffer.
    private static func frame(width: Int, height: Int, format: AVPixelFormat) throws(AVError) -> Frame {
        let f = try Frame()
        try f.allocateVideo(width: width, height: height, format: format)
        f.pointer.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        if format == AV_PIX_FMT_YUV420P {
            f.pointer.pointee.color_range = AVCOL_RANGE_MPEG
            f.pointer.pointee.colorspace = AVCOL_SPC_SMPTE170M
        } else {
            f.pointer.pointee.color_range = AVCOL_RANGE_JPEG
        }
        return f
    }

    /// The grid a crop's corner must sit on in `format` (2×2 for 4:2:0).
    private static func chromaGrid(_ format: AVPixelFormat) -> (Int, Int) {
        guard let d = av_pix_fmt_desc_get(format), d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0,
              d.pointee.nb_components > 2 else { return (1, 1) }
        return (1 << Int(d.pointee.log2_chroma_w), 1 << Int(d.pointee.log2_chroma_h))
    }

    // MARK: - Pixels

    /// Paints the whole frame one colour.
    private static func fill(_ frame: Frame, with c: Color, format: PixelFormat) {
        switch format {
        case .yuv420p:
            frame.fill(YUVColor(c))
        case .rgba, .rgb24:
            let bytes: [UInt8] = format == .rgba ? [c.red, c.green, c.blue, c.alpha] : [c.red, c.green, c.blue]
            let base = frame.data(0), stride = frame.linesize(0), rowBytes = frame.width * bytes.count
            guard frame.height > 0 else { return }
            for i in 0..<rowBytes { base[i] = bytes[i % bytes.count] }
            for row in 1..<frame.height { (base + row * stride).update(from: base, count: rowBytes) }
        }
    }

    /// Composites an RGBA frame (straight alpha) over `background`, in place:
    /// opaque afterwards, unless `keepAlpha` and the background is itself
    /// translucent (then Porter-Duff "over").
    private static func composite(_ frame: Frame, over background: Color, keepAlpha: Bool) {
        let (br, bg, bb) = (Int(background.red), Int(background.green), Int(background.blue))
        let ba = keepAlpha ? Int(background.alpha) : 255
        let base = frame.data(0), stride = frame.linesize(0), w = frame.width
        for row in 0..<frame.height {
            let p = base + row * stride
            for i in 0..<w {
                let q = p + 4 * i
                let a = Int(q[3])
                if a == 255 { continue }
                if ba == 255 {
                    q[0] = UInt8((Int(q[0]) * a + br * (255 - a) + 127) / 255)
                    q[1] = UInt8((Int(q[1]) * a + bg * (255 - a) + 127) / 255)
                    q[2] = UInt8((Int(q[2]) * a + bb * (255 - a) + 127) / 255)
                    q[3] = 255
                } else {
                    // out = src·a + bg·ba·(1−a), in units of 255².
                    let under = ba * (255 - a)
                    let total = a * 255 + under
                    if total == 0 { q[0] = 0; q[1] = 0; q[2] = 0; q[3] = 0; continue }
                    q[0] = UInt8((Int(q[0]) * a * 255 + br * under + total / 2) / total)
                    q[1] = UInt8((Int(q[1]) * a * 255 + bg * under + total / 2) / total)
                    q[2] = UInt8((Int(q[2]) * a * 255 + bb * under + total / 2) / total)
                    q[3] = UInt8((total + 127) / 255)
                }
            }
        }
    }

    /// Copies `picture` (in stored orientation) into `canvas` at (`x`, `y`),
    /// turned or mirrored to show upright; plane by plane, so a 4:2:0 picture
    /// needs an even `x` and `y`.
    private static func place(_ picture: Frame, into canvas: Frame, x: Int, y: Int,
                              orientation: StillImage.Orientation, format: PixelFormat) {
        let planes: [(index: Int, bytes: Int, shift: Int)]
        switch format {
        case .yuv420p: planes = [(0, 1, 0), (1, 1, 1), (2, 1, 1)]
        case .rgba: planes = [(0, 4, 0)]
        case .rgb24: planes = [(0, 3, 0)]
        }
        for plane in planes {
            let s = plane.shift
            // Plane sizes round up, as av_frame_get_buffer's do.
            let (pw, ph) = ((picture.width + (1 << s) - 1) >> s, (picture.height + (1 << s) - 1) >> s)
            let (shownW, shownH) = orientation.swapsAxes ? (ph, pw) : (pw, ph)
            let src = UnsafePointer(picture.data(plane.index)), srcStride = picture.linesize(plane.index)
            let dst = canvas.data(plane.index) + (y >> s) * canvas.linesize(plane.index) + (x >> s) * plane.bytes
            let dstStride = canvas.linesize(plane.index)
            let n = plane.bytes
            if orientation == .normal {
                for row in 0..<shownH { (dst + row * dstStride).update(from: src + row * srcStride, count: shownW * n) }
                continue
            }
            let t = orientation.storedPixel(width: pw, height: ph)
            // Byte offsets in the source: start of the shown pixel (0, 0), and the steps along X and Y.
            let origin = t.x0 * n + t.y0 * srcStride
            let stepX = t.xX * n + t.yX * srcStride, stepY = t.xY * n + t.yY * srcStride
            for row in 0..<shownH {
                var from = src + origin + row * stepY
                var to = dst + row * dstStride
                if n == 1 {
                    for _ in 0..<shownW { to.pointee = from.pointee; to += 1; from += stepX }
                } else {
                    for _ in 0..<shownW {
                        to.update(from: from, count: n)
                        to += n
                        from += stepX
                    }
                }
            }
        }
    }
}

// MARK: - swscale

extension SlideCanvas {
    /// One `SwsContext` (`sws_alloc_context`, `sws_init_context` / `sws_freeContext`) from a rectangle
    /// of a source frame's size and pixel format to a destination's.
    ///
    /// JPEG's full-range formats (yuvj420p…) are given to swscale as their
    /// plain counterparts with the source range set to full, as swscale
    /// wants; a YUV output is BT.601 limited range. The ranges are the
    /// `src_range`/`dst_range` options, set before `sws_init_context`:
    /// set only afterwards with `sws_setColorspaceDetails` (as after
    /// `sws_getContext`), a same-size yuv420p→yuv420p context keeps its
    /// unscaled plane copy and the output stays full range (Y 255 for white).
    fileprivate final class Scaler {
        private let context: OpaquePointer

        convenience init(from source: Frame, width: Int, height: Int, to destination: Frame) throws(AVError) {
            try self.init(from: source, width: width, height: height, to: destination,
                          width: destination.width, height: destination.height)
        }

        init(from source: Frame, width sw: Int, height sh: Int, to destination: Frame, width dw: Int, height dh: Int) throws(AVError) {
            var srcFormat = source.pixelFormat
            var srcFull = source.pointer.pointee.color_range == AVCOL_RANGE_JPEG
            switch srcFormat {
            case AV_PIX_FMT_YUVJ420P: srcFormat = AV_PIX_FMT_YUV420P; srcFull = true
            case AV_PIX_FMT_YUVJ422P: srcFormat = AV_PIX_FMT_YUV422P; srcFull = true
            case AV_PIX_FMT_YUVJ444P: srcFormat = AV_PIX_FMT_YUV444P; srcFull = true
            case AV_PIX_FMT_YUVJ440P: srcFormat = AV_PIX_FMT_YUV440P; srcFull = true
            case AV_PIX_FMT_YUVJ411P: srcFormat = AV_PIX_FMT_YUV411P; srcFull = true
            default: break
            }
            let srcDesc = av_pix_fmt_desc_get(srcFormat)
            let srcIsYUV = srcDesc.map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL) == 0 && $0.pointee.nb_components > 2 } ?? false
            // Gray pictures (PNG, JPEG) use the whole 0…255 range; only a YUV source says otherwise.
            if !srcIsYUV { srcFull = true }
            let dstFormat = destination.pixelFormat
            let dstIsYUV = av_pix_fmt_desc_get(dstFormat).map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 } ?? false

            guard sws_isSupportedInput(srcFormat) > 0 else { throw AVError(errno: ENOSYS) }
            guard let ctx = sws_alloc_context() else { throw .noMemory }
            context = ctx
            sourceHeight = sh
            let raw = UnsafeMutableRawPointer(ctx)
            for (name, value) in [("srcw", sw), ("srch", sh), ("src_format", Int(srcFormat.rawValue)),
                                  ("dstw", dw), ("dsth", dh), ("dst_format", Int(dstFormat.rawValue)),
                                  ("sws_flags", Int(SWS_BICUBIC)), ("src_range", srcFull ? 1 : 0), ("dst_range", dstIsYUV ? 0 : 1)] {
                try AVError.check(av_opt_set_int(raw, name, Int64(value), 0))
            }
            try AVError.check(sws_init_context(ctx, nil, nil))
            let srcMatrix = source.pointer.pointee.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601
            sws_setColorspaceDetails(ctx, sws_getCoefficients(srcMatrix), srcFull ? 1 : 0,
                                     sws_getCoefficients(SWS_CS_ITU601), dstIsYUV ? 0 : 1, 0, 1 << 16, 1 << 16)
        }

        private let sourceHeight: Int

        deinit { sws_freeContext(context) }

        /// Scales the rectangle of `source` at (`x`, `y`) (the context's source
        /// size) into `destination` at (`dx`, `dy`) (its destination size).
        func scale(_ source: Frame, x: Int, y: Int, into destination: Frame, x dx: Int, y dy: Int) throws(AVError) {
            let (src, srcStride) = Scaler.planes(source, x: x, y: y)
            let (dst, dstStride) = Scaler.planes(destination, x: dx, y: dy)
            let input = src.map { $0.map { UnsafePointer($0) } }
            try AVError.check(sws_scale(context, input, srcStride, 0, Int32(sourceHeight), dst, dstStride))
        }

        /// Plane pointers of `frame` moved to pixel (`x`, `y`), and the strides.
        ///
        /// Unlike `cffmpeg_frame_offset` this leaves a palette (pal8's plane 1) where it is.
        private static func planes(_ frame: Frame, x: Int, y: Int) -> ([UnsafeMutablePointer<UInt8>?], [Int32]) {
            var pointers = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: 4)
            var strides = [Int32](repeating: 0, count: 4)
            guard let d = av_pix_fmt_desc_get(frame.pixelFormat) else { return (pointers, strides) }
            let flags = d.pointee.flags
            let components = withUnsafeBytes(of: d.pointee.comp) { Array($0.bindMemory(to: AVComponentDescriptor.self)) }
            for i in 0..<4 {
                guard let base = cffmpeg_frame_data(frame.pointer, Int32(i)) else { continue }
                let stride = Int(cffmpeg_frame_linesize(frame.pointer, Int32(i)))
                strides[i] = Int32(stride)
                if i == 1 && flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0 {
                    pointers[i] = base
                    continue
                }
                let chroma = (i == 1 || i == 2) && flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0
                let px = chroma ? x >> Int(d.pointee.log2_chroma_w) : x
                let py = chroma ? y >> Int(d.pointee.log2_chroma_h) : y
                let step = components.prefix(Int(d.pointee.nb_components)).first { Int($0.plane) == i }.map { Int($0.step) } ?? 1
                pointers[i] = base + py * stride + px * step
            }
            return (pointers, strides)
        }
    }
}
