import CFFmpeg

/// An `AVAudioFifo` (`av_audio_fifo_alloc` / `av_audio_fifo_free`) that
/// turns resampled chunks of any length into the encoder's fixed frames.
final class AudioFIFO {
    private let fifo: OpaquePointer
    let format: AudioFormat

    init(format: AudioFormat, initialCapacity: Int) throws(AVError) {
        guard let f = av_audio_fifo_alloc(format.sampleFormat, Int32(format.channels), Int32(initialCapacity)) else {
            throw .noMemory
        }
        fifo = f
        self.format = format
    }

    deinit { av_audio_fifo_free(fifo) }

    /// Samples waiting.
    var count: Int { Int(av_audio_fifo_size(fifo)) }

    /// Appends `count` samples starting `offset` samples into `planes`.
    func write(_ planes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, offset: Int, count: Int) throws(AVError) {
        guard count > 0 else { return }
        if offset == 0 {
            guard try AVError.check(cffmpeg_fifo_write(fifo, planes, Int32(count))) == count else { throw .noMemory }
            return
        }
        // Point at the first sample to keep: per plane when planar, else in the one interleaved plane.
        let planeCount = format.isPlanar ? format.channels : 1
        let stride = format.bytesPerSample * (format.isPlanar ? 1 : format.channels)
        var shifted = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: planeCount)
        for i in 0..<planeCount { shifted[i] = planes[i]! + offset * stride }
        let written = shifted.withUnsafeMutableBufferPointer { cffmpeg_fifo_write(fifo, $0.baseAddress, Int32(count)) }
        guard try AVError.check(written) == count else { throw .noMemory }
    }

    /// Moves `count` samples into `frame` (whose buffer holds at least that many).
    func read(into frame: Frame, count: Int) throws(AVError) {
        let n = try AVError.check(cffmpeg_fifo_read(fifo, frame.planes, Int32(count)))
        frame.sampleCount = Int(n)
    }
}
