import CFFmpeg

/// A `SwrContext` converting one `AudioFormat` into another
/// (`swr_alloc_set_opts2`, `swr_init` / `swr_free`).
final class Resampler {
    private var context: OpaquePointer?
    let input: AudioFormat
    let output: AudioFormat

    init(from input: AudioFormat, to output: AudioFormat) throws(AVError) {
        self.input = input
        self.output = output
        var inLayout = input.layout.storage, outLayout = output.layout.storage
        try AVError.check(swr_alloc_set_opts2(&context, &outLayout, output.sampleFormat, Int32(output.sampleRate),
                                              &inLayout, input.sampleFormat, Int32(input.sampleRate), 0, nil))
        try AVError.check(swr_init(context))
    }

    deinit { swr_free(&context) }

    /// An upper bound of the samples the next `convert` of `inputSamples` can produce (`swr_get_out_samples`).
    func maxOutput(forInput inputSamples: Int) -> Int {
        Int(swr_get_out_samples(context, Int32(inputSamples)))
    }

    /// Converts `count` input samples into `into` (capacity `capacity`); returns the samples written.
    func convert(_ planes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, count: Int,
                 into out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, capacity: Int) throws(AVError) -> Int {
        Int(try AVError.check(cffmpeg_swr_convert(context, out, Int32(capacity), planes, Int32(count))))
    }

    /// Drains what the resampler still holds at the end of the input (NULL input); 0 when empty.
    func flush(into out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, capacity: Int) throws(AVError) -> Int {
        Int(try AVError.check(cffmpeg_swr_convert(context, out, Int32(capacity), nil, 0)))
    }
}
