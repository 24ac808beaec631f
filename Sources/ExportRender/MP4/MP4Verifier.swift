import CFFmpeg
import ExportCore
import Glibc

/// Checks a written mp4 before it is published: one H.264 video stream of
/// the requested size in yuv420p, one AAC audio stream, the index (moov) in
/// front of the media (fast start), and a video duration within one frame of
/// what was asked for.
///
/// Everything comes from the container and its packets; nothing is decoded,
/// so checking a minute of video takes milliseconds.
struct MP4Verifier {
    struct Measurement: Equatable {
        var videoCodec: String
        var audioCodec: String
        var width: Int
        var height: Int
        var pixelFormat: String
        var frames: Int
        /// Seconds of video (frames × frame duration).
        var videoSeconds: Double
        var audioSeconds: Double
        var sampleRate: Int
        var channels: Int
        var fastStart: Bool
        var streams: Int
    }

    /// Reads `path` back through our own descriptor.
    static func measure(path: String) throws(RenderError) -> Measurement {
        let policy = InputPolicy(formats: ["mov", "mp4"], decoders: ["h264", "aac"])
        do {
            let file = try FileDescriptor.openForReading(path)
            let fastStart = try moovBeforeMdat(file)
            _ = file.seek(to: 0, whence: SEEK_SET)
            let io = try CustomIO(reading: file)
            guard let mov = av_find_input_format("mp4") else { throw RenderError.internal("FFmpeg has no mp4 demuxer") }
            let input = try InputContainer(io: io, format: mov, name: PathRules.basename(of: path), policy: policy, keepVideo: true)
            var m = Measurement(videoCodec: "none", audioCodec: "none", width: 0, height: 0, pixelFormat: "none", frames: 0,
                                videoSeconds: 0, audioSeconds: 0, sampleRate: 0, channels: 0, fastStart: fastStart,
                                streams: input.streamCount)
            var video = -1, audio = -1
            for i in 0..<input.streamCount {
                let st = input.stream(i), par = st.pointee.codecpar.pointee
                let codec = String(cString: avcodec_get_name(par.codec_id))
                if par.codec_type == AVMEDIA_TYPE_VIDEO, video < 0 {
                    video = i
                    m.videoCodec = codec
                    m.width = Int(par.width)
                    m.height = Int(par.height)
                    m.pixelFormat = av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)).map { String(cString: $0) } ?? "none"
                } else if par.codec_type == AVMEDIA_TYPE_AUDIO, audio < 0 {
                    audio = i
                    m.audioCodec = codec
                    m.sampleRate = Int(par.sample_rate)
                    m.channels = Int(par.ch_layout.nb_channels)
                    if st.pointee.duration > 0 { m.audioSeconds = Double(st.pointee.duration) * av_q2d(st.pointee.time_base) }
                }
            }
            guard video >= 0 else { return m }
            let st = input.stream(video)
            let tb = st.pointee.time_base
            let packet = try Packet()
            var ticks: Int64 = 0
            while try input.read(into: packet) {
                defer { packet.unref() }
                guard packet.streamIndex == video else { continue }
                m.frames += 1
                ticks += packet.pointer.pointee.duration
            }
            m.videoSeconds = Double(ticks) * av_q2d(tb)
            return m
        } catch let e as RenderError {
            throw e
        } catch let e as SystemError {
            throw RenderError.io(e)
        } catch {
            throw RenderError.verify(path: path, reason: "cannot read it back: \(error)")
        }
    }

    /// Whether the top-level `moov` box comes before `mdat` (players can start before the download ends).
    static func moovBeforeMdat(_ file: FileDescriptor) throws(SystemError) -> Bool {
        let size = try file.size()
        var at: Int64 = 0
        var header = [UInt8](repeating: 0, count: 16)
        while at + 8 <= size {
            guard file.seek(to: at, whence: SEEK_SET) == at else { throw file.lastError ?? SystemError("seek", file.path, errno: EIO) }
            let n = header.withUnsafeMutableBytes { file.read(into: $0.baseAddress!, count: 16) }
            guard n >= 8 else { return false }
            var boxSize = header[0..<4].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            let type = String(decoding: header[4..<8], as: UTF8.self)
            if boxSize == 1, n >= 16 { boxSize = header[8..<16].reduce(Int64(0)) { $0 << 8 | Int64($1) } }
            if type == "moov" { return true }
            if type == "mdat" { return false }
            guard boxSize >= 8 else { return false }
            at += boxSize
        }
        return false
    }

    /// Measures `path` and compares it with the job.
    /// - Parameter inputPath: named in messages (the user knows their input, not the temp file).
    func verify(path: String, inputPath: String, width: Int, height: Int, frames: Int, fps: Fraction) throws(RenderError) -> Measurement {
        let m = try MP4Verifier.measure(path: path)
        func fail(_ reason: String) -> RenderError { .verify(path: inputPath, reason: reason) }
        guard m.streams == 2, m.videoCodec == "h264", m.audioCodec == "aac" else {
            throw fail("expected one H.264 and one AAC stream, found \(m.streams) stream(s): video \(m.videoCodec), audio \(m.audioCodec)")
        }
        guard m.width == width, m.height == height else { throw fail("expected \(width)×\(height), found \(m.width)×\(m.height)") }
        guard m.pixelFormat == "yuv420p" else { throw fail("expected yuv420p pictures, found \(m.pixelFormat)") }
        guard m.fastStart else { throw fail("the index (moov) is not at the front of the file") }
        let frameSeconds = 1 / fps.value
        let expected = Double(frames) * frameSeconds
        guard abs(m.videoSeconds - expected) <= frameSeconds + 0.001 else {
            throw fail("expected \(RenderError.seconds(expected)) s of video, found \(RenderError.seconds(m.videoSeconds)) s")
        }
        guard abs(m.audioSeconds - expected) <= max(frameSeconds, 0.05) + 0.025 else {
            throw fail("expected \(RenderError.seconds(expected)) s of audio, found \(RenderError.seconds(m.audioSeconds)) s")
        }
        return m
    }
}
