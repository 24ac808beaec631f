import CFFmpeg

/// The silent AAC track of an mp4 that has no sound (slides without
/// `audio`, a video without an audio stream), so every output has the same
/// layout: one video and one audio stream.
final class SilentAudio {
    static var format: AudioFormat { AudioFormat(sampleFormat: AV_SAMPLE_FMT_FLTP, sampleRate: 48000, channels: 2) }

    private let encoder: Encoder
    private let frame: Frame
    private let packet: Packet
    private let totalSamples: Int64
    private(set) var samplesEncoded: Int64 = 0

    init(encoder: Encoder, seconds: Double) throws(AVError) {
        self.encoder = encoder
        totalSamples = Int64((seconds * Double(SilentAudio.format.sampleRate)).rounded())
        frame = try Frame()
        packet = try Packet()
        try frame.allocateAudio(SilentAudio.format, samples: encoder.frameSize)
        for c in 0..<SilentAudio.format.channels {
            frame.planes[c]!.update(repeating: 0, count: encoder.frameSize * SilentAudio.format.bytesPerSample)
        }
    }

    var secondsEncoded: Double { Double(samplesEncoded) / Double(SilentAudio.format.sampleRate) }
    var isComplete: Bool { samplesEncoded >= totalSamples }

    /// Encodes one more frame of silence (the last one short); false when all are written.
    func step(_ write: (Packet) throws -> Void) throws -> Bool {
        guard !isComplete else { return false }
        try frame.makeWritable()
        frame.sampleCount = Int(min(Int64(encoder.frameSize), totalSamples - samplesEncoded))
        frame.pointer.pointee.pts = samplesEncoded
        samplesEncoded += Int64(frame.sampleCount)
        try encoder.encode(frame, into: packet, write)
        return true
    }

    /// Flushes the encoder's delay.
    func finish(_ write: (Packet) throws -> Void) throws {
        try encoder.encode(nil, into: packet, write)
    }
}
