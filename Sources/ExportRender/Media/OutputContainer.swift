import CFFmpeg
import ExportCore
import Glibc

/// A muxing `AVFormatContext` writing through a `CustomIO`
/// (`avformat_alloc_output_context2` / `avformat_free_context`).
///
/// FFmpeg never opens a path for it. The one file it may reopen is the
/// output itself, for reading: the mp4 muxer's fast start (`movflags
/// +faststart`) reads the finished file back to move the index (moov) in
/// front of the media; `io_open` hands it a reading `CustomIO` on a second
/// descriptor of the same file, and refuses everything else.
final class OutputContainer {
    private let context: UnsafeMutablePointer<AVFormatContext>
    private let io: CustomIO
    /// Each stream and the time base its encoder's packets arrive in.
    private var streams: [(stream: UnsafeMutablePointer<AVStream>, encoderTimeBase: AVRational)] = []
    /// Reading contexts lent to the muxer by `io_open`, until `io_close2`.
    private var reopened: [CustomIO] = []
    /// Several streams are interleaved by dts (`av_interleaved_write_frame`); one is written as it comes.
    private var interleaved: Bool { streams.count > 1 }

    /// A muxer of `formatName` ("mp3", "mp4") writing to `io`.
    init(formatName: String, io: CustomIO) throws(AVError) {
        self.io = io
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        try AVError.check(avformat_alloc_output_context2(&ctx, nil, formatName, nil))
        guard let ctx else { throw .noMemory }
        context = ctx
        ctx.pointee.pb = io.context
        ctx.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        ctx.pointee.interrupt_callback = AVIOInterruptCB(callback: { _ in Cancellation.isRequested ? 1 : 0 }, opaque: nil)
        ctx.pointee.opaque = Unmanaged.passUnretained(self).toOpaque()
        ctx.pointee.io_open = { s, pb, _, flags, _ in
            guard let s, let pb, let opaque = s.pointee.opaque else { return cffmpeg_averror(EPERM) }
            let me = Unmanaged<OutputContainer>.fromOpaque(opaque).takeUnretainedValue()
            return me.reopenForReading(flags: flags, into: pb)
        }
        ctx.pointee.io_close2 = { s, pb in
            guard let s, let opaque = s.pointee.opaque else { return 0 }
            let me = Unmanaged<OutputContainer>.fromOpaque(opaque).takeUnretainedValue()
            me.reopened.removeAll { $0.context == pb }
            return 0
        }
    }

    deinit {
        avformat_free_context(context)
    }

    /// `io_open`: only a read of the output being written (the fast-start pass).
    private func reopenForReading(flags: Int32, into pb: UnsafeMutablePointer<UnsafeMutablePointer<AVIOContext>?>) -> Int32 {
        guard flags & AVIO_FLAG_WRITE == 0 else { return cffmpeg_averror(EPERM) }
        do {
            let file = try FileDescriptor.openForReading(io.file.path)
            let reader = try CustomIO(reading: file)
            reopened.append(reader)
            pb.pointee = reader.context
            return 0
        } catch let e as SystemError {
            return cffmpeg_averror(e.errno)
        } catch {
            return (error as? AVError)?.rawValue ?? cffmpeg_averror(EIO)
        }
    }

    /// Adds a stream with the encoder's parameters (including `initial_padding`,
    /// which the mp3 muxer writes into the LAME header and the mp4 muxer into
    /// an edit list, so players drop the encoder delay); returns its index.
    @discardableResult
    func addStream(for encoder: Encoder) throws(AVError) -> Int {
        guard let st = avformat_new_stream(context, nil) else { throw .noMemory }
        try AVError.check(avcodec_parameters_from_context(st.pointee.codecpar, encoder.context))
        st.pointee.time_base = encoder.context.pointee.time_base
        if encoder.context.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            st.pointee.avg_frame_rate = encoder.context.pointee.framerate
            st.pointee.sample_aspect_ratio = encoder.context.pointee.sample_aspect_ratio
        }
        streams.append((st, encoder.context.pointee.time_base))
        return streams.count - 1
    }

    /// Container tags (ID3v2 for mp3), in order.
    func setMetadata(_ tags: [(String, String)]) {
        for (k, v) in tags { av_dict_set(&context.pointee.metadata, k, v, 0) }
    }

    /// `avformat_write_header` with muxer options (`movflags`).
    func writeHeader(options: [(String, String)] = []) throws(AVError) {
        let dict = OptionDictionary(options)
        try AVError.check(avformat_write_header(context, &dict.pointer))
    }

    /// Writes an encoder packet of stream `index` (its timestamps in the encoder's time base).
    func write(_ packet: Packet, stream index: Int = 0) throws(AVError) {
        guard index < streams.count else { throw AVError(errno: EINVAL) }
        let (stream, tb) = streams[index]
        packet.pointer.pointee.stream_index = stream.pointee.index
        av_packet_rescale_ts(packet.pointer, tb, stream.pointee.time_base)
        try AVError.check(interleaved ? av_interleaved_write_frame(context, packet.pointer)
                                      : av_write_frame(context, packet.pointer))
    }

    /// `av_write_trailer` (the mp3 muxer completes the Xing/LAME header, the
    /// mp4 muxer writes the index and, with fast start, moves it to the front), then flushes.
    func writeTrailer() throws(AVError) {
        try AVError.check(av_write_trailer(context))
        avio_flush(io.context)
        if io.context.pointee.error < 0 { throw AVError(io.context.pointee.error) }
    }

    /// Bytes written so far.
    var bytesWritten: Int64 { io.position }
}
