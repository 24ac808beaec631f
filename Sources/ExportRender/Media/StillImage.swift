import CFFmpeg
import ExportCore
import Glibc

/// One picture decoded from an image file (PNG, JPEG, WebP, BMP, TIFF, GIF…),
/// with the EXIF orientation it is meant to be shown in.
///
/// Loading is hardened like `InputContainer`, for files nobody vetted: the
/// file is opened with `FileDescriptor.openForReading` and read through a
/// `CustomIO` (FFmpeg never sees the path), the format is guessed from the
/// content only (`av_probe_input_buffer2` with no name: a ".jpg" name would
/// pick image2, which opens file sequences), only the image pipe demuxers
/// and their decoders are allowed, nested opens are refused, the decoder's
/// `max_pixels` bounds the picture it may allocate, and a requested cancel
/// interrupts FFmpeg. Only the first frame is decoded (a GIF's first image).
///
/// The pixels stay as the decoder made them (stored orientation, decoder's
/// pixel format, e.g. yuvj420p for JPEG): `SlideCanvas` scales them once,
/// straight to the size they are shown at.
final class StillImage {
    /// The decoded picture, as stored in the file (before `orientation` is applied).
    let frame: Frame
    /// How the stored pixels are turned or mirrored to show upright (EXIF Orientation).
    let orientation: Orientation
    /// The file it came from, for messages.
    let path: String

    /// Most pixels a picture may have: 4 × 3840×2160 (33.2 megapixels;
    /// a 48-megapixel phone photo is refused, a 12-megapixel one is fine).
    static let maxPixels = 8_294_400 * 4
    /// Largest file read: the image pipe demuxers hold the whole image in one packet.
    static let maxFileBytes: Int64 = 256 << 20
    /// Bytes the format guess may read.
    static let probeBytes: UInt32 = 1 << 20

    /// Demuxers allowed (`format_whitelist`): single pictures, never sequences or playlists.
    static let formats = ["png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "gif_pipe",
                          "pam_pipe", "ppm_pipe", "pgm_pipe", "pbm_pipe", "qoi_pipe"]
    /// Decoders allowed (`codec_whitelist`).
    static let decoders = ["png", "mjpeg", "webp", "bmp", "tiff", "gif", "pam", "ppm", "pgm", "pbm", "qoi"]

    /// Size as shown, after `orientation` (a portrait photo stored landscape is taller than wide).
    var width: Int { orientation.swapsAxes ? frame.height : frame.width }
    var height: Int { orientation.swapsAxes ? frame.width : frame.height }
    /// Size as stored in the file.
    var storedWidth: Int { frame.width }
    var storedHeight: Int { frame.height }

    /// Whether the pixel format carries transparency (RGBA, gray+alpha,
    /// palettes, yuva420p WebP), so the picture is composited over a background.
    var hasAlpha: Bool {
        guard let d = av_pix_fmt_desc_get(frame.pixelFormat) else { return false }
        return d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
    }

    /// Reads and decodes the image at `path`.
    /// - Parameter maxPixels: the largest picture accepted (tests lower it).
    /// - Throws: `.inputUnreadable` (missing, not a regular file, I/O error),
    ///   `.invalidMedia` (not an accepted image, damaged, too large),
    ///   `.cancelled` (a stop was requested), `.internal` (out of memory).
    init(path: String, maxPixels: Int = StillImage.maxPixels) throws(RenderError) {
        self.path = path
        let file = try FileDescriptor.openInput(path)
        let size: Int64
        do { size = try file.size() } catch {
            throw .inputUnreadable(path: path, reason: error.message, transient: error.isTransient)
        }
        if size == 0 { throw .invalidMedia(path: path, action: "open", reason: "the file is empty") }
        if size > StillImage.maxFileBytes {
            throw .invalidMedia(path: path, action: "open", reason:
                "the file is \(size >> 20) MiB; images of at most \(StillImage.maxFileBytes >> 20) MiB are read")
        }

        let demuxer: Demuxer
        do {
            let io = try CustomIO(reading: file)
            var format: UnsafePointer<AVInputFormat>?
            try AVError.check(av_probe_input_buffer2(io.context, &format, "", nil, 0, StillImage.probeBytes))
            guard let format else { throw AVError.invalidData }
            let name = String(cString: format.pointee.name)
            guard StillImage.formats.contains(name) else {
                throw RenderError.invalidMedia(path: path, action: "open", reason:
                    "it is not a still image (found \(name)); use PNG, JPEG, WebP, BMP, TIFF or GIF")
            }
            demuxer = try Demuxer(io: io, format: format)
        } catch {
            throw StillImage.error(error, file: file, path: path, action: "open")
        }

        let decoder = try PictureDecoder(parameters: demuxer.stream.pointee.codecpar, path: path, maxPixels: maxPixels)

        let decoded: Frame
        do {
            let packet = try Packet()
            decoded = try Frame()
            var received = false
            var reachedEnd = false
            while !received {
                if Cancellation.isRequested { throw RenderError.cancelled(path: path) }
                if !reachedEnd {
                    reachedEnd = try !demuxer.read(into: packet)
                    if !reachedEnd && packet.streamIndex != demuxer.streamIndex { packet.unref(); continue }
                }
                defer { packet.unref() }
                let outcome: PictureDecoder.Outcome
                do { outcome = try decoder.decode(reachedEnd ? nil : packet, into: decoded) } catch {
                    // A decoder refusing a picture over max_pixels only says EINVAL or
                    // "Invalid data" (and logs why): name the size when the header shows it.
                    if let (w, h) = (reachedEnd ? nil : StillImage.claimedSize(packet)) ?? decoder.size, w * h > maxPixels {
                        throw StillImage.tooLarge(path: path, width: w, height: h, maxPixels: maxPixels)
                    }
                    throw error
                }
                switch outcome {
                case .frame: received = true
                case .needsMore: continue
                case .finished:
                    throw RenderError.invalidMedia(path: path, action: "decode", reason: "it holds no picture")
                }
            }
        } catch {
            throw StillImage.error(error, file: file, path: path, action: "decode")
        }
        // Decoders check max_pixels against their own (aligned) buffer size;
        // refuse by the same rule whatever path the picture took.
        if decoded.width * decoded.height > maxPixels {
            throw StillImage.tooLarge(path: path, width: decoded.width, height: decoded.height, maxPixels: maxPixels)
        }
        frame = decoded
        orientation = StillImage.orientation(of: decoded)
    }

    // MARK: - Orientation

    /// The EXIF orientation of a decoded frame: the "Orientation" tag that
    /// FFmpeg 5.1's EXIF parser (mjpeg, webp) puts in the frame's metadata
    /// ("    6", padded), else the `AV_FRAME_DATA_DISPLAYMATRIX` side data the
    /// mjpeg decoder also derives from it, else `.normal`.
    static func orientation(of frame: Frame) -> Orientation {
        if let tag = av_dict_get(frame.pointer.pointee.metadata, "Orientation", nil, 0), let value = tag.pointee.value,
           let o = Orientation(exifValue: String(cString: value)) {
            return o
        }
        if let sd = av_frame_get_side_data(frame.pointer, AV_FRAME_DATA_DISPLAYMATRIX),
           sd.pointee.size >= 9 * MemoryLayout<Int32>.size, let data = sd.pointee.data {
            let m = UnsafeRawPointer(data).loadUnaligned(as: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32).self)
            if let o = Orientation(displayMatrix: [m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7, m.8]) { return o }
        }
        return .normal
    }

    /// How stored pixels are shown: the 8 values of the EXIF/TIFF Orientation tag (0x0112).
    ///
    /// Names say what must be done to the stored picture to show it upright.
    enum Orientation: Int, Sendable, CaseIterable {
        /// 1: as stored.
        case normal = 1
        /// 2: mirrored left to right.
        case mirrored = 2
        /// 3: turned 180°.
        case rotated180 = 3
        /// 4: mirrored top to bottom.
        case flipped = 4
        /// 5: mirrored across the top-left to bottom-right diagonal.
        case transposed = 5
        /// 6: turned 90° clockwise (a phone held upright, camera on the left).
        case rotated90 = 6
        /// 7: mirrored across the top-right to bottom-left diagonal.
        case transversed = 7
        /// 8: turned 90° counter-clockwise.
        case rotated270 = 8

        /// From the tag's text as FFmpeg stores it in frame metadata (`"    6"`); nil unless 1…8.
        init?(exifValue: String) {
            let digits = exifValue.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            guard let n = Int(digits), let o = Orientation(rawValue: n) else { return nil }
            self = o
        }

        /// From a display matrix of the shape FFmpeg 5.1's mjpeg decoder exports
        /// for orientations 2…8 (found by decoding JPEGs with each tag value);
        /// nil for any other matrix (an arbitrary angle, a scale).
        init?(displayMatrix m: [Int32]) {
            guard m.count == 9 else { return nil }
            func sign(_ v: Int32) -> Int { v > 0 ? 1 : v < 0 ? -1 : 0 }
            switch (sign(m[0]), sign(m[1]), sign(m[3]), sign(m[4])) {
            case (1, 0, 0, 1): self = .normal
            case (-1, 0, 0, 1): self = .mirrored
            case (-1, 0, 0, -1): self = .rotated180
            case (1, 0, 0, -1): self = .flipped
            case (0, 1, 1, 0): self = .transposed
            case (0, 1, -1, 0): self = .rotated90
            case (0, -1, -1, 0): self = .transversed
            case (0, -1, 1, 0): self = .rotated270
            default: return nil
            }
        }

        /// Whether width and height trade places when shown (5…8).
        var swapsAxes: Bool { rawValue >= 5 }

        /// Where shown pixel (X, Y) is stored: x = x0 + xX·X + xY·Y, y = y0 + yX·X + yY·Y,
        /// for a stored picture of `width`×`height` pixels.
        func storedPixel(width w: Int, height h: Int)
            -> (x0: Int, xX: Int, xY: Int, y0: Int, yX: Int, yY: Int) {
            switch self {
            case .normal: return (0, 1, 0, 0, 0, 1)
            case .mirrored: return (w - 1, -1, 0, 0, 0, 1)
            case .rotated180: return (w - 1, -1, 0, h - 1, 0, -1)
            case .flipped: return (0, 1, 0, h - 1, 0, -1)
            case .transposed: return (0, 0, 1, 0, 1, 0)
            case .rotated90: return (0, 0, 1, h - 1, -1, 0)
            case .transversed: return (w - 1, 0, -1, h - 1, -1, 0)
            case .rotated270: return (w - 1, 0, -1, 0, 1, 0)
            }
        }

        /// The rectangle of the stored picture (`width`×`height`) that shows as `rect`
        /// (in shown coordinates, continuous: pixel i spans i…i+1).
        func storedRect(_ rect: (x: Double, y: Double, width: Double, height: Double), width w: Int, height h: Int)
            -> (x: Double, y: Double, width: Double, height: Double) {
            // The pixel map with w/h in place of w-1/h-1 is the continuous one.
            let t = storedPixel(width: w + 1, height: h + 1)
            func map(_ X: Double, _ Y: Double) -> (Double, Double) {
                (Double(t.x0) + Double(t.xX) * X + Double(t.xY) * Y, Double(t.y0) + Double(t.yX) * X + Double(t.yY) * Y)
            }
            let a = map(rect.x, rect.y), b = map(rect.x + rect.width, rect.y + rect.height)
            return (min(a.0, b.0), min(a.1, b.1), abs(a.0 - b.0), abs(a.1 - b.1))
        }
    }

    // MARK: - Errors

    /// The size a PNG (IHDR) or JPEG (SOFn) header in `packet` claims, for
    /// saying why the decoder refused it; nil for other formats.
    static func claimedSize(_ packet: Packet) -> (Int, Int)? {
        guard let data = packet.pointer.pointee.data else { return nil }
        let b = UnsafeBufferPointer(start: data, count: Int(packet.pointer.pointee.size))
        func be(_ at: Int, _ n: Int) -> Int { (at..<at + n).reduce(0) { $0 << 8 | Int(b[$1]) } }
        if b.count >= 24, b[0] == 0x89, b[1] == 0x50, b[12] == 0x49, b[13] == 0x48, b[14] == 0x44, b[15] == 0x52 {
            return (be(16, 4), be(20, 4))
        }
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return nil }
        var i = 2
        while i + 9 <= b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0x01 || (0xD0...0xD8).contains(marker) { i += 2; continue }  // no length
            if marker == 0xDA || marker == 0xD9 { return nil }  // scan data or end before any frame header
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                return (be(i + 7, 2), be(i + 5, 2))
            }
            i += 2 + be(i + 2, 2)
        }
        return nil
    }

    private static func tooLarge(path: String, width: Int, height: Int, maxPixels: Int) -> RenderError {
        let mp = (Double(maxPixels) / 100_000).rounded() / 10
        return .invalidMedia(path: path, action: "decode", reason:
            "the picture is \(width)x\(height) pixels, more than the \(mp) megapixels allowed")
    }

    /// An FFmpeg error while opening or decoding: our read failed (I/O), a stop was requested, or the data is bad.
    private static func error(_ error: any Error, file: FileDescriptor, path: String, action: String) -> RenderError {
        if let e = error as? RenderError { return e }
        if Cancellation.isRequested || (error as? AVError) == .exit { return .cancelled(path: path) }
        if let e = file.lastError { return .inputUnreadable(path: path, reason: e.message, transient: e.isTransient) }
        if (error as? AVError) == .noMemory { return .internal("out of memory while reading '\(path)'") }
        // A demuxer or decoder that rejects its header says EINVAL ("Invalid argument"): it is the data that is invalid.
        if (error as? AVError) == AVError(errno: EINVAL) {
            return .invalidMedia(path: path, action: action, reason: AVError.invalidData.description)
        }
        if action == "open" {
            return .invalidMedia(path: path, action: action, reason: "it is not an image FFmpeg reads (\(error))")
        }
        return .invalidMedia(path: path, action: action, reason: "\(error)")
    }
}

// MARK: - FFmpeg owners used while loading

extension StillImage {
    /// The image demuxer's `AVFormatContext` (`avformat_open_input` / `avformat_close_input`).
    ///
    /// `avformat_find_stream_info` is not called: an image pipe demuxer
    /// knows its codec from the header, and the decoder (with its pixel
    /// limit) is the only thing that ever looks at the picture.
    private final class Demuxer {
        let context: UnsafeMutablePointer<AVFormatContext>
        private let io: CustomIO
        /// The one stream (the picture).
        let streamIndex: Int

        init(io: CustomIO, format: UnsafePointer<AVInputFormat>) throws(AVError) {
            self.io = io
            guard let ctx = avformat_alloc_context() else { throw .noMemory }
            ctx.pointee.pb = io.context
            ctx.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
            ctx.pointee.interrupt_callback = AVIOInterruptCB(callback: { _ in Cancellation.isRequested ? 1 : 0 }, opaque: nil)
            // Nothing inside an image may open another file or URL.
            ctx.pointee.io_open = { _, _, _, _, _ in cffmpeg_averror(EPERM) }
            let options = OptionDictionary([
                ("format_whitelist", StillImage.formats.joined(separator: ",")),
                ("codec_whitelist", StillImage.decoders.joined(separator: ",")),
                ("probesize", String(StillImage.probeBytes)),
                ("max_streams", "4"),
            ])
            var opened: UnsafeMutablePointer<AVFormatContext>? = ctx
            // On failure avformat_open_input frees the context (not our CustomIO).
            let ret = avformat_open_input(&opened, "", format, &options.pointer)
            guard ret >= 0, let opened else { throw AVError(ret) }
            context = opened
            let index = (0..<Int(opened.pointee.nb_streams)).first {
                opened.pointee.streams[$0]!.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
            }
            guard let index else {
                var c: UnsafeMutablePointer<AVFormatContext>? = opened
                avformat_close_input(&c)
                throw .streamNotFound
            }
            streamIndex = index
            for i in 0..<Int(opened.pointee.nb_streams) where i != index {
                opened.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
            }
        }

        deinit {
            var ctx: UnsafeMutablePointer<AVFormatContext>? = context
            avformat_close_input(&ctx)
        }

        var stream: UnsafeMutablePointer<AVStream> { context.pointee.streams[streamIndex]! }

        /// The next packet (`av_read_frame`); false at the end of the file.
        func read(into packet: Packet) throws(AVError) -> Bool {
            let ret = av_read_frame(context, packet.pointer)
            if ret == AVError.endOfFile.rawValue { return false }
            try AVError.check(ret)
            return true
        }
    }

    /// A picture decoder's `AVCodecContext` (`avcodec_open2` / `avcodec_free_context`),
    /// restricted to `StillImage.decoders` and to `max_pixels`.
    private final class PictureDecoder {
        private let context: UnsafeMutablePointer<AVCodecContext>

        init(parameters: UnsafePointer<AVCodecParameters>, path: String, maxPixels: Int) throws(RenderError) {
            let codecName = String(cString: avcodec_get_name(parameters.pointee.codec_id))
            guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
                throw .invalidMedia(path: path, action: "decode", reason: "no decoder for its codec '\(codecName)'")
            }
            let name = String(cString: codec.pointee.name)
            guard StillImage.decoders.contains(name) else {
                throw .invalidMedia(path: path, action: "decode", reason: "its codec '\(name)' is not accepted")
            }
            // A header the demuxer read (GIF) claiming more than the limit is refused before anything is decoded.
            let (w, h) = (Int(parameters.pointee.width), Int(parameters.pointee.height))
            if w * h > maxPixels { throw StillImage.tooLarge(path: path, width: w, height: h, maxPixels: maxPixels) }
            guard let ctx = avcodec_alloc_context3(codec) else { throw .internal("out of memory while reading '\(path)'") }
            context = ctx
            let options = OptionDictionary([
                ("codec_whitelist", StillImage.decoders.joined(separator: ",")),
                ("max_pixels", String(maxPixels)),
            ])
            do {
                try AVError.check(avcodec_parameters_to_context(ctx, parameters))
                try AVError.check(avcodec_open2(ctx, codec, &options.pointer))
            } catch {
                throw error == .noMemory ? .internal("out of memory while reading '\(path)'")
                    : .invalidMedia(path: path, action: "decode", reason: error.description)
            }
        }

        deinit {
            var ctx: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&ctx)
        }

        /// The picture size the decoder has taken from the header, if any.
        var size: (Int, Int)? {
            context.pointee.width > 0 && context.pointee.height > 0 ? (Int(context.pointee.width), Int(context.pointee.height)) : nil
        }

        enum Outcome { case frame, needsMore, finished }

        /// Sends `packet` (nil: the end, to flush) and receives at most one frame into `frame`.
        func decode(_ packet: Packet?, into frame: Frame) throws(AVError) -> Outcome {
            let sent = avcodec_send_packet(context, packet?.pointer)
            if sent < 0 && sent != AVError.endOfFile.rawValue && sent != AVError.tryAgain.rawValue { throw AVError(sent) }
            let ret = avcodec_receive_frame(context, frame.pointer)
            if ret == AVError.tryAgain.rawValue { return packet == nil ? .finished : .needsMore }
            if ret == AVError.endOfFile.rawValue { return .finished }
            try AVError.check(ret)
            return .frame
        }
    }
}
