import CFFmpeg

/// One reusable `AVPacket` (`av_packet_alloc` / `av_packet_free`).
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws(AVError) {
        guard let p = av_packet_alloc() else { throw .noMemory }
        pointer = p
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }

    var streamIndex: Int { Int(pointer.pointee.stream_index) }

    /// Samples to drop at the start and the end of this packet's decoded
    /// audio (`AV_PKT_DATA_SKIP_SAMPLES`), or nil.
    var skipSamples: (start: Int64, end: Int64)? {
        var start: UInt32 = 0, end: UInt32 = 0
        guard cffmpeg_packet_skip_samples(pointer, &start, &end) != 0 else { return nil }
        return (Int64(start), Int64(end))
    }

    /// Drops the packet's references (`av_packet_unref`).
    func unref() { av_packet_unref(pointer) }
}
