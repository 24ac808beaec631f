import CFFmpeg
import ExportCore
import Glibc

/// Renders an mp3 job into a temp file: decode → resample → LAME → mp3 muxer,
/// then fsync and verify.
///
/// - Input: any file FFmpeg demuxes under `InputPolicy` that has an audio
///   stream; its best audio stream (`av_find_best_stream`) is used, cover
///   art and video are never decoded.
/// - Trim: `start` seconds are dropped and `duration` seconds kept, exact to
///   the sample at the output rate. Long starts seek first (to half a second
///   before `start`, so decoders and the resampler are warmed up), then drop
///   samples by the decoded frames' timestamps.
/// - Output: written through our own descriptor (created with `O_EXCL`), with
///   ID3v2 tags from the job and the Xing/LAME header, so players know the
///   length and drop the encoder delay. The caller publishes the temp file.
///
/// On any failure the temp file is removed, if this run created it.
public final class MP3Pipeline {
    public typealias Stage = RenderStage

    public let job: Job
    public let tempPath: String
    private let onProgress: (Double, Stage) -> Void
    let policy = InputPolicy()
    /// Seconds decoded before `start` after a seek (decoder and resampler warm-up).
    static let preroll = 0.5

    /// - Parameter progress: called often (every decoded frame) with 0…1 and the stage;
    ///   the caller throttles (see `EventWriter`).
    public init(job: Job, tempPath: String, progress: @escaping (Double, Stage) -> Void = { _, _ in }) {
        self.job = job
        self.tempPath = tempPath
        onProgress = progress
    }

    /// Renders the job into `tempPath` and verifies it.
    public func run() throws(RenderError) -> RenderResult {
        try TempOutput.removedOnFailure(tempPath) { (created: inout Bool) throws(RenderError) in try render(createdTemp: &created) }
    }

    // MARK: - Steps

    private func render(createdTemp: inout Bool) throws(RenderError) -> RenderResult {
        onProgress(0, .probing)
        let (input, inputFile) = try MediaInput.open(job.input, policy: policy)
        let audio = try MediaInput.audio(of: input, file: inputFile, path: job.input, policy: policy)
        let decoder = audio.decoder
        let par = audio.stream.pointee.codecpar!
        let settings = MP3Settings(options: job.mp3, inputSampleRate: Int(par.pointee.sample_rate),
                                   inputChannels: Int(par.pointee.ch_layout.nb_channels))
        let outFormat = AudioFormat(sampleFormat: MP3Pipeline.encoderSampleFormat(for: decoder.sampleFormat),
                                    sampleRate: settings.sampleRate, channels: settings.channels)

        // Trim, in samples at the output rate counted from the input's start time.
        let start = job.start ?? 0
        if start > 0, let length = input.durationSeconds, !input.durationIsEstimate, start >= length {
            throw .trimOutOfRange(path: job.input, start: start, inputDuration: length)
        }
        let rate = Double(settings.sampleRate)
        let window = SampleWindow(start: start > 0 ? Int64((start * rate).rounded()) : nil,
                                  length: job.duration.map { max(1, Int64(($0 * rate).rounded())) })
        audio.seek(before: start, preroll: MP3Pipeline.preroll)
        var expected: Double? = input.durationSeconds.map { $0 - start }
        if let d = job.duration { expected = min(expected ?? d, d) }

        // Output: our descriptor, created exclusively.
        let outFile: FileDescriptor
        do { outFile = try FileDescriptor.createExclusive(tempPath) } catch { throw .io(error) }
        createdTemp = true
        let encoder: Encoder
        do { encoder = try Encoder(mp3: outFormat, rate: settings.encoderRate) } catch {
            throw .internal("could not open the MP3 encoder for \(settings.sampleRate) Hz, \(settings.channels) channels: \(error)")
        }
        let output: OutputContainer
        do {
            output = try OutputContainer(formatName: "mp3", io: CustomIO(writing: outFile))
            try output.addStream(for: encoder)
            output.setMetadata(job.mp3.metadata)
            try output.writeHeader()
        } catch {
            throw outputError(error, file: outFile, doing: "write the MP3 header")
        }

        let track = try AudioTrack(source: audio,
                                   encoder: encoder, outFormat: outFormat, window: window, expectedSeconds: expected,
                                   trimStart: job.start, label: "MP3", outFile: outFile,
                                   write: { try output.write($0) }, progress: { self.progress($0, .encoding) })
        progress(0, .encoding)
        while try track.pump() {}
        try track.finish()
        do { try output.writeTrailer() } catch { throw outputError(error, file: outFile, doing: "finish the MP3 file") }

        // Durable before anyone sees it: fsync, then close (whose error counts too).
        let bytes: Int64
        do {
            try outFile.sync()
            bytes = try outFile.size()
            try outFile.close()
        } catch {
            throw .io(error)
        }

        // Encoding is complete: progress stays at 1 while the file is read back.
        progress(1, .verifying)
        let m = try OutputVerifier().verify(path: tempPath, inputPath: job.input, expectedSamples: track.samplesEncoded,
                                            sampleRate: settings.sampleRate, channels: settings.channels) { _ in
            self.progress(1, .verifying)
        }
        let bitrate = settings.bitrate ?? (m.duration > 0 ? Int((Double(m.audioBytes) * 8 / m.duration / 1000).rounded()) : 0)
        return RenderResult(duration: m.duration, bytes: bytes, mediaSeconds: Double(track.samplesEncoded) / rate,
                            codec: m.codec, sampleRate: m.sampleRate, channels: m.channels, bitrate: bitrate)
    }

    // MARK: - Error mapping

    func inputError(_ error: any Error, file: FileDescriptor, doing action: String) -> RenderError {
        .reading(error, file: file, path: job.input, doing: action)
    }

    func outputError(_ error: any Error, file: FileDescriptor, doing what: String) -> RenderError {
        .writing(error, file: file, path: job.input, doing: what)
    }

    /// The encoder input format closest to what the decoder gives, as the
    /// ffmpeg CLI's format negotiation picks it: 8/16-bit → s16p, 32/64-bit
    /// integers → s32p, floating point → fltp (lossless, and what libmp3lame takes).
    static func encoderSampleFormat(for decoded: AVSampleFormat) -> AVSampleFormat {
        switch av_get_packed_sample_fmt(decoded) {
        case AV_SAMPLE_FMT_U8, AV_SAMPLE_FMT_S16: return AV_SAMPLE_FMT_S16P
        case AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S64: return AV_SAMPLE_FMT_S32P
        default: return AV_SAMPLE_FMT_FLTP
        }
    }

    func progress(_ fraction: Double, _ stage: Stage) { onProgress(min(1, max(0, fraction)), stage) }
}
