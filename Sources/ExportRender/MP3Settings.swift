import ExportCore

/// The MP3 an mp3 job asks for, with the defaults filled in from the input.
public struct MP3Settings: Sendable, Equatable {
    public var sampleRate: Int
    public var channels: Int
    /// kbit/s for CBR; nil for VBR.
    public var bitrate: Int?
    /// LAME VBR quality 0…9; nil for CBR.
    public var quality: Int?

    /// Resolves `options` against the input's sample rate and channel count.
    ///
    /// - sample rate: the job's; else the input's if MP3 has it; else 48000
    ///   for inputs above 48 kHz and 44100 for the rest;
    /// - channels: the job's; else the input's, at most 2 (more are downmixed);
    /// - rate: the job's `quality` (VBR), else its `bitrate`, else 128 kbit/s.
    public init(options: MP3Options, inputSampleRate: Int, inputChannels: Int) {
        if let r = options.sampleRate {
            sampleRate = r
        } else if MP3Options.sampleRates.contains(inputSampleRate) {
            sampleRate = inputSampleRate
        } else {
            sampleRate = inputSampleRate > 48000 ? 48000 : 44100
        }
        channels = options.channels ?? min(max(inputChannels, 1), 2)
        if let q = options.quality {
            quality = q
            bitrate = nil
        } else {
            quality = nil
            bitrate = options.bitrate ?? MP3Options.defaultBitrate
        }
    }

    var encoderRate: Encoder.Rate {
        if let quality { return .variable(quality: quality) }
        return .constant(kbps: bitrate ?? MP3Options.defaultBitrate)
    }
}
