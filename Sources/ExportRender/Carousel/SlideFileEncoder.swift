import CFFmpeg
import ExportCore

/// Turns composed carousel slides (RGB24 frames) into the bytes of image files:
/// PNG (`PNGWriter`, libdeflate), JPEG (FFmpeg's `mjpeg`) or WebP (`libwebp`);
/// for a PDF carousel, the JPEG pictures of its pages (`PDFWriter` puts them
/// in the document).
///
/// One encoder (and, for JPEG and WebP, one `SwsContext` and one converted
/// frame) serves every slide of a carousel: the two FFmpeg encoders are
/// intra-only, so each frame sent yields one packet that is a whole file.
/// The context runs with one thread (`thread_count` 1), so that packet comes
/// back before `encode` returns; encode slides in parallel with one instance
/// per thread instead.
///
/// One instance is not thread-safe: use it from one thread at a time. Two
/// instances share nothing and may be used from two threads at once.
final class SlideFileEncoder {
    let format: CarouselOptions.Format
    let quality: Int
    let width: Int
    let height: Int

    /// FFmpeg's encoder for JPEG and WebP; nil for PNG.
    private let encoder: Encoder?
    /// The PNG writer; nil for JPEG and WebP.
    private let png: PNGWriter?
    private let packet: Packet
    /// The slide converted to the encoder's pixel format (nil for PNG, which takes RGB24 as it is).
    private let converted: Frame?
    private let scaler: OpaquePointer?
    /// Increasing `pts` of the frames sent: the mpegvideo-based mjpeg encoder refuses a repeated one.
    private var nextPTS: Int64 = 0

    /// Opens the encoder of `format` for `width`×`height` slides at `quality` (1…100; PNG ignores it).
    /// - Throws: `.internal` when the encoder is missing or refuses the settings.
    init(format: CarouselOptions.Format, quality: Int, width: Int, height: Int) throws(RenderError) {
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw .internal("cannot encode a \(width)×\(height) slide")
        }
        self.format = format
        self.quality = min(100, max(1, quality))
        self.width = width
        self.height = height
        let what = SlideFileEncoder.kind(format)
        do {
            let w = Int32(width), h = Int32(height)
            switch format {
            case .png:
                encoder = nil
                png = try PNGWriter()
                converted = nil
                scaler = nil
            case .jpeg, .pdf:
                let qscale = SlideFileEncoder.jpegQScale(quality: self.quality)
                png = nil
                encoder = try Encoder(name: "mjpeg") { ctx throws(AVError) in
                    SlideFileEncoder.setPicture(ctx, width: w, height: h, format: AV_PIX_FMT_YUVJ420P)
                    ctx.pointee.color_range = AVCOL_RANGE_JPEG
                    // What `-q:v N` does: a fixed quantiser scale, carried in global_quality as a lambda.
                    ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
                    ctx.pointee.global_quality = Int32(qscale) * FF_QP2LAMBDA
                }
                // yuvj420p has yuv420p's layout; swscale wants the plain format with full range (JFIF).
                let f = try Frame()
                try f.allocateVideo(width: width, height: height, format: AV_PIX_FMT_YUVJ420P)
                f.pointer.pointee.color_range = AVCOL_RANGE_JPEG
                // With a fixed qscale, mpegvideo takes each picture's lambda from the
                // frame's `quality` (the ffmpeg CLI copies global_quality there);
                // left 0 it is clipped to qmin and every quality gives qscale 2.
                f.pointer.pointee.quality = Int32(qscale) * FF_QP2LAMBDA
                converted = f
                scaler = try SlideFileEncoder.scaler(width: width, height: height, to: AV_PIX_FMT_YUV420P, fullRange: true)
            case .webp:
                // libwebp takes bgra, yuv420p or yuva420p. From bgra it converts to
                // its own YUV (BT.601, limited range, what every WebP decoder assumes)
                // itself, so no range or matrix can be got wrong here; an opaque
                // picture gets no alpha chunk.
                png = nil
                encoder = try Encoder(name: "libwebp", options: [("quality", String(self.quality)), ("lossless", "0")]) { ctx throws(AVError) in
                    SlideFileEncoder.setPicture(ctx, width: w, height: h, format: AV_PIX_FMT_BGRA)
                }
                let f = try Frame()
                try f.allocateVideo(width: width, height: height, format: AV_PIX_FMT_BGRA)
                converted = f
                scaler = try SlideFileEncoder.scaler(width: width, height: height, to: AV_PIX_FMT_BGRA, fullRange: true)
            }
            packet = try Packet()
        } catch {
            throw .internal("could not open the \(what) encoder for \(width)×\(height) slides: \(error)")
        }
    }

    deinit { sws_freeContext(scaler) }

    /// Encodes one slide, an RGB24 (full-range sRGB) frame of exactly `width`×`height`,
    /// and returns the whole file: a PNG, a JFIF JPEG (also for `.pdf`) or a RIFF WebP.
    /// PNG goes through `PNGWriter`; JPEG and WebP through `sws_scale`, then
    /// `avcodec_send_frame` / `avcodec_receive_packet` (`Encoder`). The frame is not changed.
    /// - Throws: `.internal` for a frame of another size or format, or when the encoder fails.
    func encode(_ frame: Frame) throws(RenderError) -> [UInt8] {
        let what = SlideFileEncoder.kind(format)
        guard frame.pixelFormat == AV_PIX_FMT_RGB24, frame.width == width, frame.height == height else {
            let name = av_get_pix_fmt_name(frame.pixelFormat).map { String(cString: $0) } ?? "unknown"
            throw .internal("a \(what) slide must be a \(width)×\(height) rgb24 picture, not \(frame.width)×\(frame.height) \(name)")
        }
        if let png { return try png.file(of: frame) }
        guard let encoder else { throw .internal("no \(what) encoder is open") }
        var bytes: [UInt8]?
        var packets = 0
        do {
            let input: Frame
            if let converted, let scaler {
                // The encoder has let go of the previous slide; this copies only if it has not.
                try converted.makeWritable()
                try AVError.check(cffmpeg_sws_scale_frames(scaler, frame.pointer, 0, 0, Int32(height), converted.pointer, 0, 0))
                input = converted
            } else {
                input = frame
            }
            let pts = nextPTS
            nextPTS += 1
            let savedPTS = input.pointer.pointee.pts
            input.pointer.pointee.pts = pts
            defer { input.pointer.pointee.pts = savedPTS }
            try encoder.encode(input, into: packet) { p in
                packets += 1
                guard let data = p.pointer.pointee.data, p.pointer.pointee.size > 0 else { return }
                bytes = Array(UnsafeBufferPointer(start: data, count: Int(p.pointer.pointee.size)))
            }
        } catch {
            throw .internal("could not encode a \(width)×\(height) slide as \(what): \(error)")
        }
        guard packets == 1, var file = bytes else {
            throw .internal("the \(what) encoder returned \(packets) pictures for one \(width)×\(height) slide")
        }
        switch format {
        case .png:
            guard file.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
                throw .internal("the png encoder returned no PNG file")
            }
        case .jpeg, .pdf:
            guard file.starts(with: [0xFF, 0xD8]), file.suffix(2).elementsEqual([0xFF, 0xD9]) else {
                throw .internal("the mjpeg encoder returned no complete JPEG file")
            }
        case .webp:
            guard let riff = SlideFileEncoder.webpFile(file) else {
                throw .internal("the libwebp encoder returned neither a WebP file nor a VP8/VP8L chunk")
            }
            file = riff
        }
        return file
    }

    // MARK: - Quality

    /// The mjpeg quantiser scale (`-q:v`, 2 finest … 31 coarsest) for a quality of 1…100.
    ///
    /// FFmpeg's mjpeg encoder quantises with the MPEG-1 intra matrix × qscale / 8,
    /// a table of about the magnitude of the JPEG standard's (Annex K), which
    /// libjpeg calls quality 50. So the quality is read as libjpeg reads it
    /// (`jpeg_quality_scaling`: the table is scaled by 5000/q % below 50 and
    /// by 200 − 2q % from 50 up) and qscale = 8 × that scale, rounded and kept
    /// in 2…31, the range the ffmpeg CLI's `-q:v` takes with the default `qmin`:
    ///
    ///     quality  1…13  20  30  40  50  60  70  75  80  85…100
    ///     qscale     31  20  13  10   8   6   5   4   3       2
    ///
    /// The default 90 gives qscale 2, the finest the CLI uses (`-q:v 2`,
    /// the usual "visually lossless" setting); a linear map of 1…100 onto
    /// 31…2 would give 90 qscale 5, with visible ringing around text.
    static func jpegQScale(quality: Int) -> Int {
        let q = Double(min(100, max(1, quality)))
        let percent = q < 50 ? 5000 / q : 200 - 2 * q
        return min(31, max(2, Int((8 * percent / 100).rounded())))
    }

    // MARK: - WebP container

    /// `packet` as a complete WebP file: as it is when it is already one
    /// (`RIFF` size `WEBP`, the size matching, what libwebp's `WebPEncode` writes
    /// and FFmpeg's libwebp encoder passes on), or a bare `VP8 `/`VP8L`/`VP8X`
    /// chunk sequence wrapped in the RIFF header (RIFF size = 4 + the chunks,
    /// padded to even). Nil for anything else.
    static func webpFile(_ packet: [UInt8]) -> [UInt8]? {
        func le32(_ b: ArraySlice<UInt8>) -> Int {
            let s = b.startIndex
            return Int(b[s]) | Int(b[s + 1]) << 8 | Int(b[s + 2]) << 16 | Int(b[s + 3]) << 24
        }
        if packet.count >= 20, packet.starts(with: Array("RIFF".utf8)), packet[8..<12].elementsEqual("WEBP".utf8) {
            // A RIFF size may leave out the pad byte after an odd last chunk; never more.
            let size = le32(packet[4..<8])
            return size + 8 == packet.count || size + 9 == packet.count ? packet : nil
        }
        guard packet.count >= 8, ["VP8 ", "VP8L", "VP8X"].contains(where: { packet.starts(with: Array($0.utf8)) }) else {
            return nil
        }
        let chunk = le32(packet[4..<8])
        guard chunk + 8 <= packet.count else { return nil }
        var body = packet
        if body.count % 2 == 1 { body.append(0) }
        let size = 4 + body.count
        var file = Array("RIFF".utf8)
        file += (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) }
        file += Array("WEBP".utf8)
        return file + body
    }

    // MARK: - Setup

    private static func kind(_ format: CarouselOptions.Format) -> String {
        switch format {
        case .png: return "PNG"
        case .jpeg, .pdf: return "JPEG"
        case .webp: return "WebP"
        }
    }

    /// Size, pixel format, a time base (the PNG encoder needs one), square
    /// pixels (the PNG encoder then writes the same pHYs chunk as the CLI),
    /// and one thread so each frame's packet comes back at once.
    private static func setPicture(_ ctx: UnsafeMutablePointer<AVCodecContext>, width: Int32, height: Int32, format: AVPixelFormat) {
        ctx.pointee.width = width
        ctx.pointee.height = height
        ctx.pointee.pix_fmt = format
        ctx.pointee.time_base = AVRational(num: 1, den: 1)
        ctx.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        ctx.pointee.thread_count = 1
    }

    /// A same-size `SwsContext` from full-range RGB24 to `format` (`sws_alloc_context`,
    /// `sws_init_context`). The ranges are the `src_range`/`dst_range` options, set
    /// before `sws_init_context`, and the matrix is BT.601 (JFIF's).
    private static func scaler(width: Int, height: Int, to format: AVPixelFormat, fullRange: Bool) throws(AVError) -> OpaquePointer {
        guard let ctx = sws_alloc_context() else { throw .noMemory }
        let raw = UnsafeMutableRawPointer(ctx)
        do {
            for (name, value) in [("srcw", width), ("srch", height), ("src_format", Int(AV_PIX_FMT_RGB24.rawValue)),
                                  ("dstw", width), ("dsth", height), ("dst_format", Int(format.rawValue)),
                                  ("sws_flags", Int(SWS_BICUBIC)), ("src_range", 1), ("dst_range", fullRange ? 1 : 0)] {
                try AVError.check(av_opt_set_int(raw, name, Int64(value), 0))
            }
            try AVError.check(sws_init_context(ctx, nil, nil))
        } catch {
            sws_freeContext(ctx)
            throw error
        }
        sws_setColorspaceDetails(ctx, sws_getCoefficients(SWS_CS_ITU601), 1,
                                 sws_getCoefficients(SWS_CS_ITU601), fullRange ? 1 : 0, 0, 1 << 16, 1 << 16)
        return ctx
    }
}
