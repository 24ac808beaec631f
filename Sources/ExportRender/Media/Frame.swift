import CFFmpeg
import ExportCore

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

// MARK: - Video

extension Frame {
    var width: Int { Int(pointer.pointee.width) }
    var height: Int { Int(pointer.pointee.height) }
    var pixelFormat: AVPixelFormat { AVPixelFormat(rawValue: pointer.pointee.format) }

    /// Plane `i` of a video frame (`data[i]`).
    func data(_ i: Int) -> UnsafeMutablePointer<UInt8> { cffmpeg_frame_data(pointer, Int32(i))! }

    /// Bytes per row of plane `i` (`linesize[i]`).
    func linesize(_ i: Int) -> Int { Int(cffmpeg_frame_linesize(pointer, Int32(i))) }

    /// Gives the frame its own picture buffer of `width`×`height` in `format`
    /// (`av_frame_get_buffer`), replacing any previous one.
    func allocateVideo(width: Int, height: Int, format: AVPixelFormat) throws(AVError) {
        av_frame_unref(pointer)
        pointer.pointee.format = format.rawValue
        pointer.pointee.width = Int32(width)
        pointer.pointee.height = Int32(height)
        try AVError.check(av_frame_get_buffer(pointer, 0))
    }

    /// A new frame that refers to the same picture buffers (`av_frame_ref`):
    /// how one slide's picture is handed to the encoder frame after frame without a copy.
    func reference() throws(AVError) -> Frame {
        let f = try Frame()
        try AVError.check(av_frame_ref(f.pointer, pointer))
        return f
    }

    /// Copies the picture of `other` (same size and format) into this frame's buffers (`av_frame_copy`).
    func copyPicture(from other: Frame) throws(AVError) {
        try AVError.check(av_frame_copy(pointer, other.pointer))
    }

    /// Fills a yuv420p frame with one colour (BT.601 limited range, what x264 and players assume).
    func fill(_ c: YUVColor) {
        for (plane, value, w, h) in [(0, c.y, width, height), (1, c.u, (width + 1) / 2, (height + 1) / 2),
                                     (2, c.v, (width + 1) / 2, (height + 1) / 2)] {
            let base = data(plane), stride = linesize(plane)
            for row in 0..<h { (base + row * stride).update(repeating: value, count: w) }
        }
    }
}

/// A colour in limited-range BT.601 Y'CbCr, the encoding of the mp4's frames.
struct YUVColor: Equatable {
    var y: UInt8
    var u: UInt8
    var v: UInt8

    /// From 8-bit sRGB (the alpha is ignored).
    init(red r: UInt8, green g: UInt8, blue b: UInt8) {
        let (r, g, b) = (Double(r), Double(g), Double(b))
        func clamp(_ x: Double) -> UInt8 { UInt8(max(0, min(255, x.rounded()))) }
        y = clamp(16 + 65.481 * r / 255 + 128.553 * g / 255 + 24.966 * b / 255)
        u = clamp(128 - 37.797 * r / 255 - 74.203 * g / 255 + 112.0 * b / 255)
        v = clamp(128 + 112.0 * r / 255 - 93.786 * g / 255 - 18.214 * b / 255)
    }

    init(y: UInt8, u: UInt8, v: UInt8) {
        self.y = y
        self.u = u
        self.v = v
    }
}

extension YUVColor {
    init(_ c: Color) { self.init(red: c.red, green: c.green, blue: c.blue) }
}
