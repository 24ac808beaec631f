import CFFmpeg
import ExportCore
import Glibc

/// One audio stream on its way from an input to an encoder: packets →
/// decoded frames → resampled samples → trim window → FIFO → encoder frames
/// → the caller's muxer.
///
/// Packets come either from the track's own file (`pump`, for an mp3 job or
/// a slideshow's audio) or from a demuxer it shares with a video (`feed`,
/// for a re-encode). Every FFmpeg object is made once and reused (one packet
/// and frame each way, one resample buffer grown when needed), so the
/// encoder sets the pace.
final class AudioTrack {
    /// The input stream a track decodes.
    struct Source {
        let input: InputContainer
        let file: FileDescriptor
        let index: Int
        let stream: UnsafeMutablePointer<AVStream>
        let decoder: Decoder
        /// The job's path of the file, for messages.
        let path: String

        /// Seeks the file to `preroll` seconds before `start`, so decoders
        /// and the resampler are warmed up when the kept samples begin.
        /// Nothing to do for short starts; a failed seek only costs time
        /// (samples before `start` are dropped anyway).
        func seek(before start: Double, preroll: Double) {
            guard start - preroll > 0 else { return }
            let target = start - preroll + input.startSeconds
            let ts = av_rescale_q(Int64(target * 1_000_000), AVRational(num: 1, den: 1_000_000), stream.pointee.time_base)
            try? input.seek(stream: index, toAtMost: ts)
        }
    }

    /// The input stream's index (a shared demuxer routes its packets here).
    var streamIndex: Int { source.index }

    private let source: Source
    private let encoder: Encoder
    private let outFormat: AudioFormat
    private var window: SampleWindow
    private let expectedSeconds: Double?
    private let trimStart: Double?
    /// "MP3", "AAC": how messages name what is written.
    private let label: String
    private let outFile: FileDescriptor
    private let write: (Packet) throws -> Void
    private let onProgress: (Double) -> Void

    private let packet: Packet
    private let decoded: Frame
    private let converted: Frame
    private let encoderFrame: Frame
    private let encoded: Packet
    private let fifo: AudioFIFO
    private var resampler: Resampler?

    /// Output-rate position of the next resampled sample, counted from the
    /// input's start time; set from the first decoded frame's timestamp.
    private var position: Int64?
    /// Input timestamps → output-rate positions.
    private let timeBase: AVRational
    private let originPosition: Int64
    private let inputSize: Int64

    /// Samples sent to the encoder.
    private(set) var samplesEncoded: Int64 = 0
    private var audioPackets = 0
    private var decodeErrors = 0
    private var firstDecodeError: AVError?
    private var readError: AVError?

    /// - Parameters:
    ///   - window: the trim, in samples at the output rate.
    ///   - trimStart: the job's `start` (messages and progress).
    ///   - outFile: the output's descriptor, to tell a full disk from a muxer error.
    ///   - write: muxes one encoded packet (timestamps in the encoder's time base).
    ///   - progress: 0…1 of the expected seconds decoded.
    init(source: Source, encoder: Encoder, outFormat: AudioFormat, window: SampleWindow, expectedSeconds: Double?,
         trimStart: Double?, label: String, outFile: FileDescriptor, write: @escaping (Packet) throws -> Void,
         progress: @escaping (Double) -> Void = { _ in }) throws(RenderError) {
        self.source = source
        self.encoder = encoder
        self.outFormat = outFormat
        self.window = window
        self.expectedSeconds = expectedSeconds
        self.trimStart = trimStart
        self.label = label
        self.outFile = outFile
        self.write = write
        onProgress = progress
        timeBase = source.stream.pointee.time_base
        originPosition = Int64((source.input.startSeconds * Double(outFormat.sampleRate)).rounded())
        inputSize = (try? source.file.size()) ?? 0
        do {
            packet = try Packet()
            decoded = try Frame()
            converted = try Frame()
            encoderFrame = try Frame()
            encoded = try Packet()
            try encoderFrame.allocateAudio(outFormat, samples: encoder.frameSize)
            try converted.allocateAudio(outFormat, samples: 8192)
            fifo = try AudioFIFO(format: outFormat, initialCapacity: 4 * encoder.frameSize)
        } catch {
            throw .internal("out of memory: \(error)")
        }
    }

    private var path: String { source.path }

    /// Whether the trim window has everything it wants (no more packets needed).
    var isComplete: Bool { window.isComplete }

    /// Seconds of audio sent to the encoder so far.
    var secondsEncoded: Double { Double(samplesEncoded) / Double(outFormat.sampleRate) }

    /// Reads and processes the next packet of the track's own file.
    /// - Returns: false once the file or the trim window has ended (then call `finish`).
    func pump() throws(RenderError) -> Bool {
        while !window.isComplete {
            if Cancellation.isRequested { throw .cancelled(path: path) }
            do {
                guard try source.input.read(into: packet) else { return false }
            } catch {
                let e = RenderError.reading(error, file: source.file, path: path, doing: "read")
                if case .invalidMedia = e {
                    // Like the ffmpeg CLI: a demuxer error ends the input; the
                    // checks in `finish` decide whether what was read is enough.
                    readError = error
                    return false
                }
                throw e
            }
            defer { packet.unref() }
            guard packet.streamIndex == source.index else { continue }
            try feed(packet)
            return true
        }
        return false
    }

    /// Processes one packet of the track's stream (read by someone else).
    func feed(_ packet: Packet) throws(RenderError) {
        guard !window.isComplete else { return }
        audioPackets += 1
        try decode(packet)
    }

    /// Records a demuxer error that ended a shared input early (see `pump`).
    func inputEnded(by error: AVError) { readError = error }

    /// Ends the track: flushes the decoder and the resampler (unless the
    /// window was filled first), checks what was decoded, encodes the FIFO's
    /// rest (the last, short frame) and flushes the encoder's delay. The
    /// caller writes the trailer.
    func finish() throws(RenderError) {
        let reachedEnd = !window.isComplete
        if reachedEnd {
            try decode(nil)
            try drainResampler()
        }
        try checkDecodedAudio(reachedEnd: reachedEnd)
        if fifo.count > 0 { try encodeFromFIFO(count: fifo.count) }
        do {
            try encoder.encode(nil, into: encoded) { try self.write($0) }
        } catch {
            throw RenderError.writing(error, file: outFile, path: path, doing: "finish the \(label) stream")
        }
        onProgress(1)
    }

    // MARK: - Decode

    /// Sends a packet (nil: flush) and processes every frame; corrupt packets are counted, not fatal.
    private func decode(_ packet: Packet?) throws(RenderError) {
        do {
            try source.decoder.decode(packet, into: decoded) { frame in try self.process(frame) }
        } catch let e as RenderError {
            throw e
        } catch let e as AVError {
            if e == .exit || Cancellation.isRequested { throw .cancelled(path: path) }
            if e == .noMemory { throw .internal("out of memory while decoding '\(path)'") }
            // The decoder logged it; keep going like the ffmpeg CLI, but not through a file that is mostly damage.
            decodeErrors += 1
            if firstDecodeError == nil { firstDecodeError = e }
            if decodeErrors > 100 && decodeErrors * 2 > audioPackets { throw corrupt() }
        } catch {
            throw .internal("\(error)")
        }
    }

    private func corrupt() -> RenderError {
        .invalidMedia(path: path, action: "decode", reason:
            "\(decodeErrors) of \(audioPackets) audio packets could not be decoded (\(firstDecodeError?.description ?? "corrupt data"))")
    }

    /// Resamples one decoded frame and passes the samples on.
    private func process(_ frame: Frame) throws(RenderError) {
        let f = frame.pointer
        if (f.pointee.flags & AV_FRAME_FLAG_CORRUPT) != 0 || f.pointee.decode_error_flags != 0 {
            decodeErrors += 1
        }
        let format = AudioFormat(frame: f)
        do {
            if resampler?.input != format {
                // A parameter change mid-stream: finish the old conversion, start a new one.
                if resampler != nil { try drainResampler() }
                resampler = try Resampler(from: format, to: outFormat)
            }
        } catch let e as RenderError {
            throw e
        } catch {
            throw .invalidMedia(path: path, action: "decode", reason:
                "cannot convert its audio (\(format.channels) channels, \(format.sampleRate) Hz): \(error)")
        }
        let ts = f.pointee.best_effort_timestamp
        if position == nil {
            position = ts == cffmpeg_nopts_value() ? 0
                : av_rescale_q(ts, timeBase, AVRational(num: 1, den: Int32(outFormat.sampleRate))) - originPosition
        }
        do {
            let need = resampler!.maxOutput(forInput: frame.sampleCount)
            if need > converted.capacity { try converted.allocateAudio(outFormat, samples: max(need, 2 * converted.capacity)) }
            let n = try resampler!.convert(frame.planes, count: frame.sampleCount, into: converted.planes, capacity: converted.capacity)
            try deliver(n)
        } catch let e as RenderError {
            throw e
        } catch {
            throw .internal("could not resample '\(path)': \(error)")
        }
        reportProgress(timestamp: ts)
    }

    /// Flushes the resampler's buffered tail into the window.
    private func drainResampler() throws(RenderError) {
        guard let r = resampler, !window.isComplete else { return }
        do {
            while true {
                let n = try r.flush(into: converted.planes, capacity: converted.capacity)
                if n <= 0 { break }
                try deliver(n)
            }
        } catch let e as RenderError {
            throw e
        } catch {
            throw .internal("could not resample '\(path)': \(error)")
        }
    }

    // MARK: - Trim and encode

    /// Keeps the part of the `count` samples in `converted` that lies in the trim window, and encodes full frames.
    private func deliver(_ count: Int) throws(RenderError) {
        guard count > 0, let pos = position else { return }
        let (skip, keep) = window.take(position: pos, count: count)
        position = pos + Int64(count)
        guard keep > 0 else { return }
        do { try fifo.write(converted.planes, offset: skip, count: keep) } catch {
            throw .internal("out of memory while buffering samples: \(error)")
        }
        while fifo.count >= encoder.frameSize { try encodeFromFIFO(count: encoder.frameSize) }
    }

    /// Encodes `count` samples from the FIFO and writes the packets.
    private func encodeFromFIFO(count: Int) throws(RenderError) {
        do {
            try encoderFrame.makeWritable()
            try fifo.read(into: encoderFrame, count: count)
            encoderFrame.pointer.pointee.pts = samplesEncoded
            samplesEncoded += Int64(encoderFrame.sampleCount)
            try encoder.encode(encoderFrame, into: encoded) { try self.write($0) }
        } catch {
            throw RenderError.writing(error, file: outFile, path: path, doing: "encode and write the \(label) stream")
        }
    }

    // MARK: - Checks and progress

    /// Fails when nothing was kept, when the decoder mostly failed, and when
    /// decoding stopped well before the end the container declares (a
    /// truncated or damaged file should not become a short MP3 silently).
    private func checkDecodedAudio(reachedEnd: Bool) throws(RenderError) {
        let rate = Double(outFormat.sampleRate)
        let decodedEnd = position.map { Double($0) / rate }
        if window.kept == 0 {
            if let start = trimStart, start > 0 {
                throw .trimOutOfRange(path: path, start: start,
                                      inputDuration: decodedEnd ?? source.input.durationSeconds ?? 0)
            }
            let why = readError ?? firstDecodeError
            throw .invalidMedia(path: path, action: "decode", reason:
                "no audio could be decoded" + (why.map { " (\($0))" } ?? ""))
        }
        if decodeErrors > 10 && decodeErrors * 100 > audioPackets { throw corrupt() }
        guard reachedEnd, let decodedEnd, !source.input.durationIsEstimate else { return }
        let st = source.stream.pointee
        guard st.duration != cffmpeg_nopts_value(), st.duration > 0 else { return }
        let first = st.start_time == cffmpeg_nopts_value() ? 0 : st.start_time
        let declaredEnd = Double(first + st.duration) * av_q2d(timeBase) - source.input.startSeconds
        if decodedEnd < declaredEnd - max(1.0, 0.02 * declaredEnd) {
            throw .invalidMedia(path: path, action: "decode", reason:
                "its audio stops at \(RenderError.seconds(decodedEnd)) s of the \(RenderError.seconds(declaredEnd)) s it declares; "
                + "the file is truncated or damaged" + (readError.map { " (\($0))" } ?? ""))
        }
    }

    /// Progress by input timestamp over the expected trimmed duration (by bytes read when the length is unknown).
    private func reportProgress(timestamp ts: Int64) {
        let fraction: Double
        if let expected = expectedSeconds, expected > 0, ts != cffmpeg_nopts_value() {
            let seconds = Double(ts) * av_q2d(timeBase) - source.input.startSeconds
            fraction = (seconds - (trimStart ?? 0)) / expected
        } else if inputSize > 0 {
            fraction = Double(source.input.bytePosition) / Double(inputSize)
        } else {
            return
        }
        onProgress(min(1, max(0, fraction)))
    }
}
