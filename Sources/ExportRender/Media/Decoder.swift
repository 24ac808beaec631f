import CFFmpeg
import Glibc

/// A decoder's `AVCodecContext` (`avcodec_alloc_context3`,
/// `avcodec_open2` / `avcodec_free_context`).
final class Decoder {
    private var context: UnsafeMutablePointer<AVCodecContext>

    /// Opens `decoder` for `stream`, restricted to the policy's decoders.
    /// - Parameter options: more decoder options (`threads` for video).
    init(stream: UnsafeMutablePointer<AVStream>, decoder: UnsafePointer<AVCodec>, policy: InputPolicy,
         options more: [(String, String)] = []) throws(AVError) {
        guard let ctx = avcodec_alloc_context3(decoder) else { throw .noMemory }
        context = ctx
        try AVError.check(avcodec_parameters_to_context(ctx, stream.pointee.codecpar))
        // Frames get timestamps in the stream's time base, and skip samples are applied correctly.
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        let options = OptionDictionary([
            ("codec_whitelist", policy.decoders.joined(separator: ",")),
            ("max_samples", String(policy.maxSamplesPerFrame)),
            ("max_pixels", String(policy.maxPixels)),
        ] + more)
        try AVError.check(avcodec_open2(ctx, decoder, &options.pointer))
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }

    /// The decoder's context (picture size and format of a video decoder).
    var codecContext: UnsafeMutablePointer<AVCodecContext> { context }

    /// The sample format the decoder produces.
    var sampleFormat: AVSampleFormat { context.pointee.sample_fmt }

    /// Sends `packet` (nil: the end of the stream, to flush the decoder) and
    /// hands every frame it yields to `body` (the send/receive loop).
    ///
    /// Throws what FFmpeg returns (`AVERROR_INVALIDDATA` for a corrupt packet)
    /// or what `body` throws.
    func decode(_ packet: Packet?, into frame: Frame, _ body: (Frame) throws -> Void) throws {
        let sent = avcodec_send_packet(context, packet?.pointer)
        if sent < 0 && sent != AVError.endOfFile.rawValue { throw AVError(sent) }
        while true {
            let ret = avcodec_receive_frame(context, frame.pointer)
            if ret == AVError.tryAgain.rawValue || ret == AVError.endOfFile.rawValue { return }
            try AVError.check(ret)
            defer { frame.unref() }
            try body(frame)
        }
    }
}
