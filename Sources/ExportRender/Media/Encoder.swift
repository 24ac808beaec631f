import CFFmpeg

/// The libmp3lame encoder's `AVCodecContext` (`avcodec_open2` / `avcodec_free_context`).
final class Encoder {
    private(set) var context: UnsafeMutablePointer<AVCodecContext>
    let format: AudioFormat

    /// Bit rate mode: constant kbit/s, or LAME's VBR quality 0 (best) … 9.
    enum Rate: Equatable {
        case constant(kbps: Int)
        case variable(quality: Int)
    }

    init(format: AudioFormat, rate: Rate) throws(AVError) {
        guard let codec = avcodec_find_encoder_by_name("libmp3lame") else { throw .encoderNotFound }
        guard let ctx = avcodec_alloc_context3(codec) else { throw .noMemory }
        context = ctx
        self.format = format
        ctx.pointee.sample_fmt = format.sampleFormat
        ctx.pointee.sample_rate = Int32(format.sampleRate)
        var layout = format.layout.storage
        try AVError.check(av_channel_layout_copy(&ctx.pointee.ch_layout, &layout))
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(format.sampleRate))
        switch rate {
        case let .constant(kbps):
            ctx.pointee.bit_rate = Int64(kbps) * 1000
        case let .variable(quality):
            // libmp3lame reads VBR quality from global_quality when QSCALE is set.
            ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
            ctx.pointee.global_quality = Int32(quality) * FF_QP2LAMBDA
        }
        try AVError.check(avcodec_open2(ctx, codec, nil))
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }

    /// Samples per frame the encoder wants (1152, or 576 at 24 kHz and below).
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
