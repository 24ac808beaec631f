import CFFmpeg
import ExportCore
import Glibc

/// Checks a written MP3 before it is published: exactly one audio stream,
/// codec mp3, the expected sample rate and channels, and a duration within
/// `tolerance` of the samples encoded.
///
/// The duration comes from the packets alone, as a decoder would play them:
/// the sum of packet durations, less the samples the LAME header tells the
/// demuxer to skip at the start (encoder delay) and discard at the end
/// (padding), which arrive as `AV_PKT_DATA_SKIP_SAMPLES` side data. No audio
/// is decoded, so checking an hour of MP3 takes a fraction of a second.
public struct OutputVerifier: Sendable {
    /// Largest accepted difference between the expected and the found duration.
    public var tolerance: Double = 0.050

    public init(tolerance: Double = 0.050) {
        self.tolerance = tolerance
    }

    /// What the file holds, from its packets.
    public struct Measurement: Sendable, Equatable {
        public var streams: Int
        public var codec: String
        public var sampleRate: Int
        public var channels: Int
        /// Samples a decoder outputs (packet durations less skip and discard).
        public var samples: Int64
        /// Bytes of MP3 frames (without tags and the Xing frame).
        public var audioBytes: Int64
        public var duration: Double { sampleRate > 0 ? Double(samples) / Double(sampleRate) : 0 }
    }

    /// Reads `path` through our own descriptor and custom I/O, like an input.
    /// - Parameter progress: called per packet with the fraction of the file read.
    public static func measure(path: String, progress: (Double) -> Void = { _ in }) throws(RenderError) -> Measurement {
        let policy = InputPolicy(formats: ["mp3"], decoders: ["mp3float", "mp3"])
        do {
            let file = try FileDescriptor.openForReading(path)
            let io = try CustomIO(reading: file)
            guard let mp3 = av_find_input_format("mp3") else { throw RenderError.internal("FFmpeg has no mp3 demuxer") }
            let input = try InputContainer(io: io, format: mp3, name: PathRules.basename(of: path), policy: policy)
            guard input.streamCount > 0 else {
                return Measurement(streams: 0, codec: "none", sampleRate: 0, channels: 0, samples: 0, audioBytes: 0)
            }
            let st = input.stream(0)
            let par = st.pointee.codecpar!
            let codec = String(cString: avcodec_get_name(par.pointee.codec_id))
            let rate = Int(par.pointee.sample_rate)
            var m = Measurement(streams: input.streamCount, codec: codec, sampleRate: rate,
                                channels: Int(par.pointee.ch_layout.nb_channels), samples: 0, audioBytes: 0)
            guard rate > 0 else { return m }
            let tb = st.pointee.time_base
            let perSample = AVRational(num: 1, den: Int32(rate))
            let packet = try Packet()
            var skipped: Int64 = 0
            let size = max(1, try file.size())
            while try input.read(into: packet) {
                defer { packet.unref() }
                guard packet.streamIndex == 0 else { continue }
                let p = packet.pointer.pointee
                m.samples += p.duration > 0 ? av_rescale_q(p.duration, tb, perSample) : Int64(par.pointee.frame_size)
                m.audioBytes += Int64(p.size)
                if let skip = packet.skipSamples { skipped += skip.start + skip.end }
                progress(Double(input.bytePosition) / Double(size))
            }
            m.samples = max(0, m.samples - skipped)
            return m
        } catch let e as RenderError {
            throw e
        } catch let e as SystemError {
            throw RenderError.io(e)
        } catch {
            throw RenderError.verify(path: path, reason: "cannot read it back: \(error)")
        }
    }

    /// Measures `path` and compares it with what was encoded.
    /// - Parameter inputPath: named in messages (the user knows their input, not the temp file).
    public func verify(path: String, inputPath: String, expectedSamples: Int64, sampleRate: Int,
                       channels: Int, progress: (Double) -> Void = { _ in }) throws(RenderError) -> Measurement {
        let m = try OutputVerifier.measure(path: path, progress: progress)
        func fail(_ reason: String) -> RenderError { .verify(path: inputPath, reason: reason) }
        guard m.streams == 1 else { throw fail("expected one audio stream, found \(m.streams)") }
        guard m.codec == "mp3" else { throw fail("expected codec mp3, found \(m.codec)") }
        guard m.sampleRate == sampleRate else { throw fail("expected \(sampleRate) Hz, found \(m.sampleRate) Hz") }
        guard m.channels == channels else { throw fail("expected \(channels) channels, found \(m.channels)") }
        let expected = Double(expectedSamples) / Double(sampleRate)
        guard abs(m.duration - expected) <= tolerance else {
            throw fail("expected \(RenderError.seconds(expected)) s of audio, found \(RenderError.seconds(m.duration)) s")
        }
        return m
    }
}
