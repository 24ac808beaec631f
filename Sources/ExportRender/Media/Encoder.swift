import CFFmpeg

/// An encoder's `AVCodecContext` (`avcodec_open2` / `avcodec_free_context`):
/// libmp3lame for mp3 jobs; libx264 and FFmpeg's AAC encoder for mp4 jobs.
final class Encoder {
    private(set) var context: UnsafeMutablePointer<AVCodecContext>

    /// Bit rate mode: constant kbit/s, or LAME's VBR quality 0 (best) … 9.
    enum Rate: Equatable {
        case constant(kbps: Int)
        case variable(quality: Int)
    }

    /// Opens the encoder `name` after `configure` has set up its context.
    /// - Parameters:
    ///   - globalHeader: codec extradata in the container header (mp4 needs it: `AV_CODEC_FLAG_GLOBAL_HEADER`).
    ///   - options: private options of the encoder (`crf`, `preset`, `profile` for libx264), checked to be used.
    init(name: String, globalHeader: Bool = false, options: [(String, String)] = [],
         configure: (UnsafeMutablePointer<AVCodecContext>) throws(AVError) -> Void) throws(AVError) {
        guard let codec = avcodec_find_encoder_by_name(name) else { throw .encoderNotFound }
        guard let ctx = avcodec_alloc_context3(codec) else { throw .noMemory }
        context = ctx
        try configure(ctx)
        if globalHeader { ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        let dict = OptionDictionary(options)
        try AVError.check(avcodec_open2(ctx, codec, &dict.pointer))
        // An option the encoder did not take would silently change the output.
        if dict.pointer != nil, av_dict_count(dict.pointer) > 0 { throw AVError(errno: EINVAL) }
    }

    /// libmp3lame for `format` at `rate`.
    convenience init(mp3 format: AudioFormat, rate: Rate) throws(AVError) {
        try self.init(name: "libmp3lame") { ctx throws(AVError) in
            try Encoder.setAudio(ctx, format)
            switch rate {
            case let .constant(kbps):
                ctx.pointee.bit_rate = Int64(kbps) * 1000
            case let .variable(quality):
                // libmp3lame reads VBR quality from global_quality when QSCALE is set.
                ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
                ctx.pointee.global_quality = Int32(quality) * FF_QP2LAMBDA
            }
        }
    }

    /// FFmpeg's native AAC encoder (LC, fltp) for mp4 audio.
    convenience init(aac format: AudioFormat, kbps: Int) throws(AVError) {
        try self.init(name: "aac", globalHeader: true) { ctx throws(AVError) in
            try Encoder.setAudio(ctx, format)
            ctx.pointee.bit_rate = Int64(kbps) * 1000
        }
    }

    /// libx264 for `width`×`height` yuv420p at `fps`: High profile, `crf`, `preset`.
    convenience init(h264Width width: Int, height: Int, fps: (num: Int32, den: Int32), crf: Int, preset: String) throws(AVError) {
        try self.init(name: "libx264", globalHeader: true,
                      options: [("crf", String(crf)), ("preset", preset), ("profile", "high")]) { ctx throws(AVError) in
            ctx.pointee.width = Int32(width)
            ctx.pointee.height = Int32(height)
            ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            ctx.pointee.time_base = AVRational(num: fps.den, den: fps.num)
            ctx.pointee.framerate = AVRational(num: fps.num, den: fps.den)
            ctx.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
            // What the ffmpeg CLI tags a yuv420p encode with when the source says nothing: BT.601 limited range.
            ctx.pointee.color_range = AVCOL_RANGE_MPEG
            // x264's own threads, one per core and its lookahead, as the ffmpeg CLI asks for (`threads auto`).
            ctx.pointee.thread_count = 0
        }
    }

    private static func setAudio(_ ctx: UnsafeMutablePointer<AVCodecContext>, _ format: AudioFormat) throws(AVError) {
        ctx.pointee.sample_fmt = format.sampleFormat
        ctx.pointee.sample_rate = Int32(format.sampleRate)
        var layout = format.layout.storage
        try AVError.check(av_channel_layout_copy(&ctx.pointee.ch_layout, &layout))
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(format.sampleRate))
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }

    /// Samples per frame the encoder wants (1152 for LAME, 1024 for AAC).
    var frameSize: Int { Int(context.pointee.frame_size) }

    /// Sends `frame` (nil: the end, to flush the encoder) and hands every
    /// packet it yields to `body` (the send/receive loop of mux.c).
    func encode(_ frame: Frame?, into packet: Packet, _ body: (Packet) throws -> Void) throws {
        let sent = avcodec_send_frame(context, frame?.pointer)
        if sent < 0 && sent != AVError.endOfFile.rawValue { throw AVError(sent) }
        while true {
            let ret = avcodec_receive_packet(context, packet.pointer)
            if ret == AVError.tryAgain.rawValue || ret == AVError.endOfFile.rawValue { return }
            try AVError.check(ret)
            defer { packet.unref() }
            try body(packet)
        }
    }
}
