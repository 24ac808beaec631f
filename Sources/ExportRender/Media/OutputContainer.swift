import CFFmpeg
import Glibc

/// A muxing `AVFormatContext` writing through a `CustomIO`
/// (`avformat_alloc_output_context2` / `avformat_free_context`).
final class OutputContainer {
    private let context: UnsafeMutablePointer<AVFormatContext>
    private let io: CustomIO
    private var stream: UnsafeMutablePointer<AVStream>?
    private var encoderTimeBase = AVRational(num: 1, den: 1)

    /// A muxer of `formatName` ("mp3") writing to `io`.
    init(formatName: String, io: CustomIO) throws(AVError) {
        self.io = io
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        try AVError.check(avformat_alloc_output_context2(&ctx, nil, formatName, nil))
        guard let ctx else { throw .noMemory }
        context = ctx
        ctx.pointee.pb = io.context
        ctx.pointee.interrupt_callback = AVIOInterruptCB(callback: { _ in Cancellation.isRequested ? 1 : 0 }, opaque: nil)
    }

    deinit {
        avformat_free_context(context)
    }

    /// Adds the one stream, with the encoder's parameters (including
    /// `initial_padding`, which the mp3 muxer writes into the LAME header so
    /// decoders drop the encoder delay).
    func addStream(for encoder: Encoder) throws(AVError) {
        guard let st = avformat_new_stream(context, nil) else { throw .noMemory }
        try AVError.check(avcodec_parameters_from_context(st.pointee.codecpar, encoder.context))
        st.pointee.time_base = encoder.context.pointee.time_base
        encoderTimeBase = encoder.context.pointee.time_base
        stream = st
    }

    /// Container tags (ID3v2 for mp3), in order.
    func setMetadata(_ tags: [(String, String)]) {
        for (k, v) in tags { av_dict_set(&context.pointee.metadata, k, v, 0) }
    }

    /// `avformat_write_header`.
    func writeHeader() throws(AVError) {
        try AVError.check(avformat_write_header(context, nil))
    }

    /// Writes an encoder packet (`av_write_frame`; one stream needs no interleaving).
    func write(_ packet: Packet) throws(AVError) {
        guard let stream else { throw AVError(errno: EINVAL) }
        packet.pointer.pointee.stream_index = stream.pointee.index
        av_packet_rescale_ts(packet.pointer, encoderTimeBase, stream.pointee.time_base)
        try AVError.check(av_write_frame(context, packet.pointer))
    }

    /// `av_write_trailer` (the mp3 muxer seeks back to complete the Xing/LAME header), then flushes.
    func writeTrailer() throws(AVError) {
        try AVError.check(av_write_trailer(context))
        avio_flush(io.context)
        if io.context.pointee.error < 0 { throw AVError(io.context.pointee.error) }
    }
}
