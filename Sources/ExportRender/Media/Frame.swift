import CFFmpeg

/// One reusable `AVFrame` (`av_frame_alloc` / `av_frame_free`).
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() throws(AVError) {
        guard let f = av_frame_alloc() else { throw .noMemory }
        pointer = f
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&f)
    }

    /// The plane pointers (`extended_data`).
    var planes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?> { cffmpeg_frame_planes(pointer)! }

    var sampleCount: Int {
        get { Int(pointer.pointee.nb_samples) }
        set { pointer.pointee.nb_samples = Int32(newValue) }
    }

    /// Capacity in samples of the audio buffer made by `allocateAudio`.
    private(set) var capacity = 0

    /// Gives the frame its own audio buffer for `samples` samples of `format`
    /// (`av_frame_get_buffer`), replacing any previous one.
    func allocateAudio(_ format: AudioFormat, samples: Int) throws(AVError) {
        av_frame_unref(pointer)
        pointer.pointee.format = format.sampleFormat.rawValue
        pointer.pointee.sample_rate = Int32(format.sampleRate)
        var layout = format.layout.storage
        try AVError.check(av_channel_layout_copy(&pointer.pointee.ch_layout, &layout))
        pointer.pointee.nb_samples = Int32(samples)
        try AVError.check(av_frame_get_buffer(pointer, 0))
        capacity = samples
    }

    /// Makes sure the buffer is not shared with an encoder before refilling it
    /// (`av_frame_make_writable`; no copy when nothing else holds it).
    func makeWritable() throws(AVError) {
        try AVError.check(av_frame_make_writable(pointer))
    }

    /// Drops the frame's references (`av_frame_unref`).
    func unref() { av_frame_unref(pointer) }
}
