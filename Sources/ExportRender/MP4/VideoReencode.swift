import CFFmpeg
import ExportCore

/// The pictures of a re-encoded video: the input's best video stream,
/// decoded (with the decoder's own threads), trimmed, turned upright, fitted
/// to the output frame and brought to the output's constant frame rate.
///
/// Output frame n (at n / fps seconds after the trim) shows the last input
/// picture whose time is at most half an output frame later, so a video at
/// the output's rate keeps every frame, a faster one drops frames evenly and
/// a slower one repeats them.
final class VideoReencode {
    let index: Int
    private let path: String
    private let decoder: Decoder
    private let timeBase: AVRational
    private let originSeconds: Double
    private let fitter: VideoFitter
    private let overlay: FrameOverlay?
    private let fps: Double
    /// Output frames wanted.
    let totalFrames: Int
    private let decoded: Frame
    /// The latest input picture fitted to the output frame.
    private let current: Frame
    private var hasCurrent = false
    /// `current` with the text drawn on it.
    private let composed: Frame
    private(set) var framesSent = 0
    private var decodeErrors = 0
    private var packets = 0

    /// - Parameters:
    ///   - trimStart: seconds of the input skipped (`start`).
    ///   - emit: encodes output frame n (the frame's pts is set by the caller).
    init(input: InputContainer, path: String, policy: InputPolicy, options o: MP4Options, trimStart: Double,
         totalFrames: Int, overlay: FrameOverlay?) throws(RenderError) {
        let best: (index: Int, decoder: UnsafePointer<AVCodec>)
        do { best = try input.bestStream(AVMEDIA_TYPE_VIDEO) } catch {
            if error == .decoderNotFound { throw MediaInput.noDecoder(input, AVMEDIA_TYPE_VIDEO, path: path) }
            throw .invalidMedia(path: path, action: "open", reason: "it has no video stream")
        }
        let name = String(cString: best.decoder.pointee.name)
        guard policy.decoders.contains(name) else {
            throw .invalidMedia(path: path, action: "decode", reason: "its video codec '\(name)' is not accepted")
        }
        index = best.index
        self.path = path
        let stream = input.stream(best.index)
        do {
            decoder = try Decoder(stream: stream, decoder: best.decoder, policy: policy, options: [("threads", "auto")])
        } catch {
            throw .invalidMedia(path: path, action: "decode", reason: error.description)
        }
        timeBase = stream.pointee.time_base
        originSeconds = input.startSeconds + trimStart
        fitter = VideoFitter(width: o.width, height: o.height, fit: o.fit, background: o.background,
                             rotation: VideoFitter.rotation(of: stream))
        self.overlay = overlay
        fps = o.fps.value
        self.totalFrames = totalFrames
        do {
            decoded = try Frame()
            current = try Frame()
            composed = try Frame()
            try current.allocateVideo(width: o.width, height: o.height, format: AV_PIX_FMT_YUV420P)
            try composed.allocateVideo(width: o.width, height: o.height, format: AV_PIX_FMT_YUV420P)
        } catch {
            throw .internal("out of memory: \(error)")
        }
    }

    var isComplete: Bool { framesSent >= totalFrames }

    /// Decodes one packet of the video stream (nil: the end) and emits the output frames it completes.
    func feed(_ packet: Packet?, emit: (Frame) throws(RenderError) -> Void) throws(RenderError) {
        guard !isComplete else { return }
        if packet != nil { packets += 1 }
        do {
            try decoder.decode(packet, into: decoded) { frame in try self.take(frame, emit: emit) }
        } catch let e as RenderError {
            throw e
        } catch let e as AVError {
            if e == .exit || Cancellation.isRequested { throw .cancelled(path: path) }
            if e == .noMemory { throw .internal("out of memory while decoding '\(path)'") }
            decodeErrors += 1
            if decodeErrors > 100 && decodeErrors * 2 > packets {
                throw .invalidMedia(path: path, action: "decode", reason: "\(decodeErrors) of \(packets) video packets could not be decoded (\(e))")
            }
        } catch {
            throw .internal("\(error)")
        }
        if packet == nil { try finish(emit: emit) }
    }

    private func take(_ frame: Frame, emit: (Frame) throws(RenderError) -> Void) throws(RenderError) {
        let ts = frame.pointer.pointee.best_effort_timestamp
        let t = ts == cffmpeg_nopts_value() ? Double(framesSent) / fps : Double(ts) * av_q2d(timeBase) - originSeconds
        // Output frames due before this picture's time show the previous one.
        while hasCurrent, !isComplete, t > (Double(framesSent) + 0.5) / fps { try send(emit) }
        guard !isComplete else { return }
        do {
            try current.makeWritable()
            try fitter.draw(frame, into: current)
        } catch {
            throw .invalidMedia(path: path, action: "scale", reason: "cannot convert its pictures (\(frame.width)×\(frame.height)): \(error)")
        }
        hasCurrent = true
    }

    /// The input ended: its last picture holds until the wanted frames are all sent.
    private func finish(emit: (Frame) throws(RenderError) -> Void) throws(RenderError) {
        guard hasCurrent else {
            throw .invalidMedia(path: path, action: "decode", reason: "no video picture could be decoded")
        }
        let missing = totalFrames - framesSent
        if Double(missing) > max(2, 0.02 * Double(totalFrames)) {
            throw .invalidMedia(path: path, action: "decode", reason:
                "its video stops at \(RenderError.seconds(Double(framesSent) / fps)) s of the \(RenderError.seconds(Double(totalFrames) / fps)) s expected; the file is truncated or damaged")
        }
        while !isComplete { try send(emit) }
    }

    private func send(_ emit: (Frame) throws(RenderError) -> Void) throws(RenderError) {
        let t = Double(framesSent) / fps
        var out = current
        if let overlay {
            _ = try overlay.prepare(at: t)
            if !overlay.isEmpty {
                do {
                    try composed.makeWritable()
                    try composed.copyPicture(from: current)
                } catch {
                    throw .internal("could not compose a frame: \(error)")
                }
                overlay.blend(onto: composed)
                out = composed
            }
        }
        try emit(out)
        framesSent += 1
    }
}
