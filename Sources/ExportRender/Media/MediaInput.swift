import CFFmpeg
import ExportCore
import Glibc

/// Opens a job's input file the hardened way, for every pipeline: our own
/// descriptor (a regular file, never a FIFO or a directory), custom I/O,
/// a demuxer on the policy's allow-list, and only allowed decoders.
enum MediaInput {
    /// Opens `path` and reads its stream parameters.
    /// - Parameter keepVideo: read video streams too (a re-encode); otherwise only audio is ever read.
    static func open(_ path: String, policy: InputPolicy, keepVideo: Bool = false) throws(RenderError) -> (InputContainer, FileDescriptor) {
        let file = try FileDescriptor.openInput(path)
        if let size = try? file.size(), size == 0 {
            throw .invalidMedia(path: path, action: "open", reason: "the file is empty")
        }
        let name = PathRules.basename(of: path)
        do {
            let io = try CustomIO(reading: file)
            let format = try InputContainer.probe(io, name: name, policy: policy)
            let formatName = String(cString: format.pointee.name)
            guard policy.allows(formatNamed: formatName) else {
                throw RenderError.invalidMedia(path: path, action: "open", reason:
                    "format '\(formatName)' is not accepted (audio and video files only; playlists, file lists and image sequences are refused)")
            }
            return (try InputContainer(io: io, format: format, name: name, policy: policy, keepVideo: keepVideo), file)
        } catch let e as RenderError {
            throw e
        } catch {
            throw RenderError.reading(error, file: file, path: path, doing: "open")
        }
    }

    /// The best audio stream of `input` with its decoder opened, as an `AudioTrack` source.
    static func audio(of input: InputContainer, file: FileDescriptor, path: String, policy: InputPolicy,
                      discardOthers: Bool = true) throws(RenderError) -> AudioTrack.Source {
        let best: (index: Int, decoder: UnsafePointer<AVCodec>)
        do { best = try input.bestStream(AVMEDIA_TYPE_AUDIO) } catch {
            if error == .streamNotFound { throw .noAudio(path: path) }
            if error == .decoderNotFound { throw noDecoder(input, AVMEDIA_TYPE_AUDIO, path: path) }
            throw .invalidMedia(path: path, action: "open", reason: error.description)
        }
        if discardOthers { input.discardAllStreams(except: best.index) }
        let stream = input.stream(best.index)
        let decoderName = String(cString: best.decoder.pointee.name)
        guard policy.decoders.contains(decoderName) else {
            throw .invalidMedia(path: path, action: "decode", reason: "its audio codec '\(decoderName)' is not accepted")
        }
        do {
            return AudioTrack.Source(input: input, file: file, index: best.index, stream: stream,
                                     decoder: try Decoder(stream: stream, decoder: best.decoder, policy: policy), path: path)
        } catch {
            throw .invalidMedia(path: path, action: "decode", reason: error.description)
        }
    }

    /// The message for a stream of `type` whose codec FFmpeg cannot (or may not) decode.
    static func noDecoder(_ input: InputContainer, _ type: AVMediaType, path: String) -> RenderError {
        let st = (0..<input.streamCount).map(input.stream).first { $0.pointee.codecpar.pointee.codec_type == type }
        let codec = st.map { String(cString: avcodec_get_name($0.pointee.codecpar.pointee.codec_id)) } ?? "unknown"
        let what = type == AVMEDIA_TYPE_VIDEO ? "video" : "audio"
        return .invalidMedia(path: path, action: "decode", reason: "no decoder for its \(what) codec '\(codec)'")
    }
}
