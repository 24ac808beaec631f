import CFFmpeg
import ExportCore
import Glibc

/// Renders an mp4 job into a temp file: H.264 (libx264, yuv420p, High
/// profile) and AAC in an mp4 with the index in front (fast start), then
/// fsync and verify.
///
/// Two shapes of job:
/// - slides over audio: each slide's picture is decoded, fitted and converted
///   once (`StillImage`, `SlideCanvas`), then the slideshow hands the encoder the same
///   picture frame after frame, composing only frames with text or a fade;
///   the video lasts exactly as long as the trimmed audio;
/// - a re-encode: the input's video is decoded, trimmed, fitted and brought
///   to the output frame rate, its audio re-encoded to AAC.
/// Captions and slide text are drawn by the text layer (libass).
///
/// Audio and video are encoded in step (the audio kept about a second ahead)
/// and interleaved by the muxer. Progress is frames encoded over frames
/// expected. On any failure the temp file is removed, if this run created it.
public final class MP4Pipeline {
    public let job: Job
    public let tempPath: String
    private let onProgress: (Double, RenderStage) -> Void
    let policy = InputPolicy()

    /// Seconds decoded before `start` after a seek (decoder warm-up).
    static let preroll = 0.5
    /// How far the audio is encoded ahead of the video, in seconds.
    static let audioLead = 1.0

    public init(job: Job, tempPath: String, progress: @escaping (Double, RenderStage) -> Void = { _, _ in }) {
        self.job = job
        self.tempPath = tempPath
        onProgress = progress
    }

    private var o: MP4Options { job.mp4 }
    /// The file messages name: the video to re-encode, else the audio, else the output.
    private var subject: String { !job.input.isEmpty ? job.input : (o.audio ?? job.output) }

    /// Renders the job into `tempPath` and verifies it.
    public func run() throws(RenderError) -> RenderResult {
        try TempOutput.removedOnFailure(tempPath) { (created: inout Bool) throws(RenderError) in try render(createdTemp: &created) }
    }

    // MARK: - Steps

    private func render(createdTemp: inout Bool) throws(RenderError) -> RenderResult {
        progress(0, .probing)
        let fps = o.fps
        let start = job.start ?? 0

        // Inputs, and the length of the output.
        var video: (InputContainer, FileDescriptor)?
        var audioSource: AudioTrack.Source?
        var length: Double
        if !job.input.isEmpty {
            let v = try MediaInput.open(job.input, policy: policy.withVideo, keepVideo: true)
            video = v
            length = try trimmedLength(of: v.0, path: job.input)
            do throws(RenderError) {
                audioSource = try MediaInput.audio(of: v.0, file: v.1, path: job.input, policy: policy.withVideo,
                                                   discardOthers: false)
            } catch {
                guard case .noAudio = error else { throw error }
            }
        } else if let audio = o.audio {
            let a = try MediaInput.open(audio, policy: policy)
            audioSource = try MediaInput.audio(of: a.0, file: a.1, path: audio, policy: policy)
            length = try trimmedLength(of: a.0, path: audio)
        } else {
            length = o.slides.reduce(0) { $0 + ($1.duration ?? 0) }  // without audio: the sum of the durations
        }
        let totalFrames = max(1, Int((length * fps.value).rounded()))
        // When each slide shows: what the pictures and the slide texts both follow.
        let timing = SlideTiming(slides: o.slides, audioSeconds: audioSource == nil ? nil : length, transition: o.transition)
        let overlay = try textLayer(timing: video == nil ? timing : nil)

        // Output: our descriptor, created exclusively; the encoders; the muxer.
        let outFile: FileDescriptor
        do { outFile = try FileDescriptor.createExclusive(tempPath) } catch { throw .io(error) }
        createdTemp = true
        let videoEncoder: Encoder
        do {
            videoEncoder = try Encoder(h264Width: o.width, height: o.height, fps: (Int32(fps.numerator), Int32(fps.denominator)),
                                       crf: o.crf, preset: o.preset)
        } catch {
            throw .internal("could not open the H.264 encoder (libx264) for \(o.width)×\(o.height) at \(fps) fps: \(error)")
        }
        let audioFormat = audioSource.map { MP4Pipeline.aacFormat(for: $0) } ?? SilentAudio.format
        let audioEncoder: Encoder
        do { audioEncoder = try Encoder(aac: audioFormat, kbps: o.audioBitrate) } catch {
            throw .internal("could not open the AAC encoder for \(audioFormat.sampleRate) Hz, \(audioFormat.channels) channels: \(error)")
        }
        let output: OutputContainer
        let videoStream: Int, audioStream: Int
        do {
            output = try OutputContainer(formatName: "mp4", io: CustomIO(writing: outFile))
            videoStream = try output.addStream(for: videoEncoder)
            audioStream = try output.addStream(for: audioEncoder)
            try output.writeHeader(options: [("movflags", "+faststart")])
        } catch {
            throw RenderError.writing(error, file: outFile, path: subject, doing: "write the MP4 header")
        }
        let writeAudio: (Packet) throws -> Void = { try output.write($0, stream: audioStream) }

        // Audio: decoded from a file (or from the video's file), or silence. A
        // slideshow's own audio file is encoded on a thread beside x264's (AudioAhead).
        var track: AudioTrack?
        var ahead: AudioAhead?
        defer { ahead?.stop() }
        var silence: SilentAudio?
        if let src = audioSource {
            let rate = Double(audioFormat.sampleRate)
            let window = SampleWindow(start: start > 0 ? Int64((start * rate).rounded()) : nil,
                                      length: max(1, Int64((length * rate).rounded())))
            let make = { (write: @escaping (Packet) throws -> Void) throws(RenderError) -> AudioTrack in
                try AudioTrack(source: src, encoder: audioEncoder, outFormat: audioFormat, window: window,
                               expectedSeconds: length, trimStart: self.job.start, label: "AAC", outFile: outFile, write: write)
            }
            if video == nil {
                src.seek(before: start, preroll: MP4Pipeline.preroll)
                ahead = try AudioAhead(makeTrack: make)
                ahead?.start()
            } else {
                track = try make(writeAudio)
            }
        } else {
            do { silence = try SilentAudio(encoder: audioEncoder, seconds: Double(totalFrames) / fps.value) } catch {
                throw .internal("could not make the silent audio track: \(error)")
            }
        }

        // Video.
        let packet: Packet
        do { packet = try Packet() } catch { throw .internal("out of memory") }
        var framesEncoded = 0
        let emit = { (frame: Frame) throws(RenderError) -> Void in
            if Cancellation.isRequested { throw .cancelled(path: self.subject) }
            frame.pointer.pointee.pts = Int64(framesEncoded)
            frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
            do {
                try videoEncoder.encode(frame, into: packet) { p in
                    if p.pointer.pointee.duration == 0 { p.pointer.pointee.duration = 1 }  // libx264 leaves it 0
                    try output.write(p, stream: videoStream)
                }
            } catch {
                throw RenderError.writing(error, file: outFile, path: self.subject, doing: "encode and write the H.264 stream")
            }
            framesEncoded += 1
            self.progress(Double(framesEncoded) / Double(totalFrames), .encoding)
            // Keep the audio about a second ahead, so the muxer interleaves without buffering much.
            let due = Double(framesEncoded) / fps.value + MP4Pipeline.audioLead
            do {
                // A re-encode's track is fed by the shared demuxer; a slideshow's reads its own file on its thread.
                if let ahead { try ahead.write(upTo: due, writeAudio) }
                if let silence { while silence.secondsEncoded < due, try silence.step(writeAudio) {} }
            } catch let e as RenderError {
                throw e
            } catch {
                throw RenderError.writing(error, file: outFile, path: self.subject, doing: "encode and write the AAC stream")
            }
        }
        progress(0, .encoding)
        if let video {
            try reencode(video.0, file: video.1, track: track, totalFrames: totalFrames, overlay: overlay, emit: emit)
        } else {
            let show = try slideshow(timing: timing, overlay: overlay)
            for n in 0..<totalFrames { try emit(try show.frame(at: Double(n) / fps.value)) }
        }

        // Ends of both streams, the trailer (the fast-start pass moves the index to the front).
        do {
            try videoEncoder.encode(nil, into: packet) { p in
                if p.pointer.pointee.duration == 0 { p.pointer.pointee.duration = 1 }
                try output.write(p, stream: videoStream)
            }
        } catch {
            throw RenderError.writing(error, file: outFile, path: subject, doing: "finish the H.264 stream")
        }
        if let track { try track.finish() }
        do {
            try ahead?.finish(writeAudio)
        } catch let e as RenderError {
            throw e
        } catch {
            throw RenderError.writing(error, file: outFile, path: subject, doing: "encode and write the AAC stream")
        }
        do {
            if let silence {
                while try silence.step(writeAudio) {}
                try silence.finish(writeAudio)
            }
            try output.writeTrailer()
        } catch {
            throw RenderError.writing(error, file: outFile, path: subject, doing: "finish the MP4 file")
        }

        // Durable before anyone sees it: fsync, then close (whose error counts too).
        let bytes: Int64
        do {
            try outFile.sync()
            bytes = try outFile.size()
            try outFile.close()
        } catch {
            throw .io(error)
        }

        progress(1, .verifying)
        let m = try MP4Verifier().verify(path: tempPath, inputPath: subject, width: o.width, height: o.height,
                                         frames: totalFrames, fps: fps)
        let seconds = m.videoSeconds
        return RenderResult(duration: seconds, bytes: bytes, mediaSeconds: seconds, codec: "h264",
                            sampleRate: m.sampleRate, channels: m.channels,
                            bitrate: seconds > 0 ? Int((Double(bytes) * 8 / seconds / 1000).rounded()) : 0,
                            width: m.width, height: m.height, frames: m.frames)
    }

    /// Reads the shared input: video packets to the re-encoder, audio packets to the track.
    private func reencode(_ input: InputContainer, file: FileDescriptor, track: AudioTrack?, totalFrames: Int,
                          overlay: FrameOverlay?, emit: (Frame) throws(RenderError) -> Void) throws(RenderError) {
        let video = try VideoReencode(input: input, path: job.input, policy: policy.withVideo, options: o,
                                      trimStart: job.start ?? 0, totalFrames: totalFrames, overlay: overlay)
        if let track { input.discardAllStreams(except: video.index, track.streamIndex) } else { input.discardAllStreams(except: video.index) }
        if let start = job.start, start - MP4Pipeline.preroll > 0 {
            // A failed seek only costs time: what lies before `start` is dropped anyway.
            try? input.seek(toAtMostSeconds: start - MP4Pipeline.preroll)
        }
        let packet: Packet
        do { packet = try Packet() } catch { throw .internal("out of memory") }
        while !video.isComplete || !(track?.isComplete ?? true) {
            if Cancellation.isRequested { throw .cancelled(path: job.input) }
            do {
                guard try input.read(into: packet) else { break }
            } catch {
                let e = RenderError.reading(error, file: file, path: job.input, doing: "read")
                guard case .invalidMedia = e, let av = error as? AVError else { throw e }
                // Like the ffmpeg CLI, a demuxer error ends the input; the checks decide if what was read is enough.
                track?.inputEnded(by: av)
                break
            }
            defer { packet.unref() }
            if packet.streamIndex == video.index {
                try video.feed(packet, emit: emit)
            } else if let track, packet.streamIndex == track.streamIndex {
                try track.feed(packet)
            }
        }
        try video.feed(nil, emit: emit)
    }

    // MARK: - Parts

    /// The seconds of `input` the job uses: its length less `start`, at most `duration`.
    private func trimmedLength(of input: InputContainer, path: String) throws(RenderError) -> Double {
        let start = job.start ?? 0
        guard let total = input.durationSeconds else {
            if let d = job.duration { return d }
            throw .invalidMedia(path: path, action: "open", reason: "its length is unknown; give \"duration\"")
        }
        if start >= total { throw .trimOutOfRange(path: path, start: start, inputDuration: total) }
        return min(total - start, job.duration ?? .infinity)
    }

    /// The slideshow: one picture per slide, made once.
    private func slideshow(timing: SlideTiming, overlay: FrameOverlay?) throws(RenderError) -> Slideshow {
        var pictures: [Frame] = []
        for slide in o.slides {
            var image: StillImage?
            if let path = slide.image { image = try StillImage(path: path) }
            pictures.append(try SlideCanvas(slide: slide, options: o).render(image))
        }
        do { return try Slideshow(timing: timing, pictures: pictures, overlay: overlay, width: o.width, height: o.height) } catch {
            throw .internal("out of memory: \(error)")
        }
    }

    /// Captions and slide text, or nil when the job draws no text.
    /// - Parameter timing: the slides' spans (nil for a re-encode, which has captions only).
    private func textLayer(timing: SlideTiming?) throws(RenderError) -> FrameOverlay? {
        var texts: [TextLayer.TimedText] = []
        if let timing {
            for (slide, span) in zip(o.slides, timing.spans) {
                guard let text = slide.text, !text.isEmpty, span.end > span.start else { continue }
                texts.append(TextLayer.TimedText(start: span.start, end: span.end, text: text,
                                       style: slide.style.over(o.style).resolved(frameHeight: o.height)))
            }
        }
        guard !texts.isEmpty || !o.captions.isEmpty else { return nil }
        return try TextLayer(width: o.width, height: o.height, captions: o.captions,
                             captionStyle: o.resolvedCaptionStyle.resolved(frameHeight: o.height), texts: texts)
    }

    /// AAC at the input's rate when AAC has it (else 48 kHz), mono or stereo, planar float.
    static func aacFormat(for source: AudioTrack.Source) -> AudioFormat {
        let par = source.stream.pointee.codecpar.pointee
        let rate = Int(par.sample_rate)
        let rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000]
        return AudioFormat(sampleFormat: AV_SAMPLE_FMT_FLTP, sampleRate: rates.contains(rate) ? rate : 48000,
                           channels: par.ch_layout.nb_channels == 1 ? 1 : 2)
    }

    func progress(_ fraction: Double, _ stage: RenderStage) { onProgress(min(1, max(0, fraction)), stage) }
}
