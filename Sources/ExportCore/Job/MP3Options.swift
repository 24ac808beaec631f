/// Encoding options of an mp3 job.
public struct MP3Options: Sendable, Equatable {
    /// Constant bitrate in kbit/s; nil when `quality` (VBR) is used.
    public var bitrate: Int?
    /// LAME VBR quality 0 (best) … 9 (smallest); nil for CBR.
    public var quality: Int?
    /// Output sample rate in Hz; nil keeps the input's (if MP3 allows it).
    public var sampleRate: Int?
    /// 1 or 2; nil keeps the input's (more than two are downmixed to stereo).
    public var channels: Int?
    /// ID3v2 tags, in the order given.
    public var metadata: [(String, String)]

    public static let defaultBitrate = 128
    public static let bitrates = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    public static let sampleRates = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]
    public static let metadataKeys = ["title", "artist", "album", "album_artist", "date", "genre", "track", "comment", "composer", "copyright", "language"]

    public init(bitrate: Int? = nil, quality: Int? = nil, sampleRate: Int? = nil, channels: Int? = nil, metadata: [(String, String)] = []) {
        self.bitrate = bitrate
        self.quality = quality
        self.sampleRate = sampleRate
        self.channels = channels
        self.metadata = metadata
    }

    public static func == (a: MP3Options, b: MP3Options) -> Bool {
        a.bitrate == b.bitrate && a.quality == b.quality && a.sampleRate == b.sampleRate
            && a.channels == b.channels && a.metadata.elementsEqual(b.metadata, by: { $0 == $1 })
    }
}
