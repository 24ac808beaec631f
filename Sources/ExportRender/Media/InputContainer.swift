import CFFmpeg
import Glibc

/// A demuxing `AVFormatContext` reading through a `CustomIO`
/// (`avformat_open_input` / `avformat_close_input`).
///
/// Hardened for untrusted files: an `io_open` that refuses every nested open
/// (playlists, references to other files), the policy's `format_whitelist`
/// and `codec_whitelist`, probe limits, and an `interrupt_callback` that
/// stops FFmpeg once a cancel was requested.
final class InputContainer {
    private(set) var context: UnsafeMutablePointer<AVFormatContext>
    private let io: CustomIO

    /// Guesses the container format from the first bytes (`av_probe_input_buffer2`).
    /// - Parameter name: a file name, for formats recognised by extension.
    static func probe(_ io: CustomIO, name: String, policy: InputPolicy) throws(AVError) -> UnsafePointer<AVInputFormat> {
        var format: UnsafePointer<AVInputFormat>?
        try AVError.check(av_probe_input_buffer2(io.context, &format, name, nil, 0, UInt32(policy.probeSize)))
        guard let format else { throw .invalidData }
        return format
    }

    /// Opens `format` on `io` and reads the stream parameters (`avformat_find_stream_info`).
    /// - Parameter keepVideo: video streams are read too (a re-encode); otherwise they are discarded unread.
    init(io: CustomIO, format: UnsafePointer<AVInputFormat>, name: String, policy: InputPolicy,
         keepVideo: Bool = false) throws(AVError) {
        self.io = io
        guard let ctx = avformat_alloc_context() else { throw .noMemory }
        ctx.pointee.pb = io.context
        ctx.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        ctx.pointee.interrupt_callback = AVIOInterruptCB(callback: { _ in Cancellation.isRequested ? 1 : 0 }, opaque: nil)
        // Nothing inside a media file may open another file or URL.
        ctx.pointee.io_open = { _, _, _, _, _ in cffmpeg_averror(EPERM) }

        let options = OptionDictionary([
            ("format_whitelist", policy.formats.joined(separator: ",")),
            // Also applies to streams that appear while probing (MPEG-TS), which get no per-stream options.
            ("codec_whitelist", policy.decoders.joined(separator: ",")),
            ("probesize", String(policy.probeSize)),
            ("analyzeduration", String(policy.analyzeDuration)),
            ("max_streams", String(policy.maxStreams)),
        ])
        var opened: UnsafeMutablePointer<AVFormatContext>? = ctx
        // On failure avformat_open_input frees the context (not our CustomIO).
        let ret = avformat_open_input(&opened, name, format, &options.pointer)
        guard ret >= 0, let opened else { throw AVError(ret) }
        context = opened

        // Only audio (and, for a re-encode, video that is not cover art) is
        // read from here on, and probed with the policy's decoder whitelist:
        // no other decoder ever runs.
        for i in 0..<Int(opened.pointee.nb_streams) {
            let st = opened.pointee.streams[i]!
            let type = st.pointee.codecpar.pointee.codec_type
            let isPicture = type == AVMEDIA_TYPE_VIDEO && st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0
            if type != AVMEDIA_TYPE_AUDIO && !(keepVideo && isPicture) { st.pointee.discard = AVDISCARD_ALL }
        }
        let streamOptions = (0..<Int(opened.pointee.nb_streams)).map { _ in
            OptionDictionary([("codec_whitelist", policy.decoders.joined(separator: ",")),
                              ("max_samples", String(policy.maxSamplesPerFrame)),
                              ("max_pixels", String(policy.maxPixels))])
        }
        var raw = streamOptions.map { $0.pointer }
        // Refusing a video decoder is logged as an error ("Codec (h264) not on
        // whitelist"): keep probing quiet. Anything wrong with the audio shows
        // again when it is decoded.
        let level = av_log_get_level()
        av_log_set_level(min(level, AV_LOG_FATAL))
        let found = raw.withUnsafeMutableBufferPointer { avformat_find_stream_info(opened, $0.baseAddress) }
        av_log_set_level(level)
        for (d, p) in zip(streamOptions, raw) { d.pointer = p }
        if found < 0 { throw AVError(found) }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    var streamCount: Int { Int(context.pointee.nb_streams) }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { context.pointee.streams[index]! }

    /// The container's start time in seconds (0 when unknown).
    var startSeconds: Double {
        let t = context.pointee.start_time
        return t == cffmpeg_nopts_value() ? 0 : Double(t) / Double(AV_TIME_BASE)
    }

    /// The container's duration in seconds, nil when unknown.
    var durationSeconds: Double? {
        let d = context.pointee.duration
        return d == cffmpeg_nopts_value() || d <= 0 ? nil : Double(d) / Double(AV_TIME_BASE)
    }

    /// Whether the duration was merely estimated from the bit rate (VBR MP3 without a Xing header).
    var durationIsEstimate: Bool { context.pointee.duration_estimation_method == AVFMT_DURATION_FROM_BITRATE }

    /// `av_find_best_stream` for `type`: the stream index and its decoder.
    func bestStream(_ type: AVMediaType) throws(AVError) -> (index: Int, decoder: UnsafePointer<AVCodec>) {
        var decoder: UnsafePointer<AVCodec>?
        let index = try AVError.check(av_find_best_stream(context, type, -1, -1, &decoder, 0))
        guard let decoder else { throw .decoderNotFound }
        return (Int(index), decoder)
    }

    /// Reads only `indices` from now on: the demuxer skips other streams' packets.
    func discardAllStreams(except indices: Int...) {
        for i in 0..<streamCount where !indices.contains(i) { stream(i).pointee.discard = AVDISCARD_ALL }
    }

    /// Seeks every stream to the last keyframe at or before `seconds` of the container (`avformat_seek_file`).
    func seek(toAtMostSeconds seconds: Double) throws(AVError) {
        let ts = Int64((seconds + startSeconds) * Double(AV_TIME_BASE))
        try AVError.check(avformat_seek_file(context, -1, Int64.min, ts, ts, 0))
    }

    /// Seeks so that reading resumes at or before `timestamp` of stream `index` (`avformat_seek_file`).
    func seek(stream index: Int, toAtMost timestamp: Int64) throws(AVError) {
        try AVError.check(avformat_seek_file(context, Int32(index), Int64.min, timestamp, timestamp, 0))
    }

    /// The next packet (`av_read_frame`); false at the end of the file.
    func read(into packet: Packet) throws(AVError) -> Bool {
        let ret = av_read_frame(context, packet.pointer)
        if ret == AVError.endOfFile.rawValue { return false }
        try AVError.check(ret)
        return true
    }

    /// Bytes read so far from the file.
    var bytePosition: Int64 { io.position }
}
