import ExportCore

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
    /// kbit/s: the constant rate, or the average of a VBR file.
    public var bitrate: Int

    /// `{"event":"result","duration":…,"bytes":…,"mediaSeconds":…,"codec":"mp3","sampleRate":…,"channels":…,"bitrate":…}`
    public var event: JSONValue {
        .object([
            ("event", .string("result")),
            ("duration", .double(RenderResult.milliseconds(duration))),
            ("bytes", .int(bytes)),
            ("mediaSeconds", .double(RenderResult.milliseconds(mediaSeconds))),
            ("codec", .string(codec)),
            ("sampleRate", .int(Int64(sampleRate))),
            ("channels", .int(Int64(channels))),
            ("bitrate", .int(Int64(bitrate))),
        ])
    }

    static func milliseconds(_ s: Double) -> Double { (s * 1000).rounded() / 1000 }
}
