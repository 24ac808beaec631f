import ExportCore

/// What a render is doing, in its progress events.
public enum RenderStage: String, Sendable {
    case probing, encoding, verifying
}

/// What a successful render made: the `result` event's fields.
public struct RenderResult: Sendable, Equatable {
    /// Seconds of audio in the written file, as verified from its packets.
    public var duration: Double
    /// Size of the temp file in bytes.
    public var bytes: Int64
    /// Seconds of media encoded (samples fed to the encoder / sample rate).
    public var mediaSeconds: Double
    public var codec: String
    public var sampleRate: Int
    public var channels: Int
    /// kbit/s: the constant rate, or the average of a VBR file (all streams of an mp4).
    public var bitrate: Int
    /// Picture size and frame count of an mp4.
    public var width: Int? = nil
    public var height: Int? = nil
    public var frames: Int? = nil
    /// Slides written by a carousel.
    public var slides: Int? = nil

    /// `{"event":"result","duration":…,"bytes":…,"mediaSeconds":…,"codec":"mp3","sampleRate":…,"channels":…,"bitrate":…}`, plus `width`, `height`, `frames` for an mp4
    public var event: JSONValue {
        .compactObject([
            ("event", .string("result")),
            ("duration", .double(RenderResult.milliseconds(duration))),
            ("bytes", .int(bytes)),
            ("mediaSeconds", .double(RenderResult.milliseconds(mediaSeconds))),
            ("codec", .string(codec)),
            ("sampleRate", .int(Int64(sampleRate))),
            ("channels", .int(Int64(channels))),
            ("bitrate", .int(Int64(bitrate))),
            ("width", width.map { .int(Int64($0)) }),
            ("height", height.map { .int(Int64($0)) }),
            ("frames", frames.map { .int(Int64($0)) }),
            ("slides", slides.map { .int(Int64($0)) }),
        ])
    }

    static func milliseconds(_ s: Double) -> Double { (s * 1000).rounded() / 1000 }
}
