import ExportCore
@testable import ExportRender
import Foundation
import XCTest

/// Runs the real pipeline on generated media and checks the MP3 the way a
/// user would: with the ffmpeg CLI and ffprobe, against the CLI's own encode.
final class MP3PipelineTests: XCTestCase {
    var media: MediaFixtures!
    /// One MP3 frame: the tolerance the CLI comparison allows.
    let frame = 1152

    override func setUpWithError() throws {
        guard MediaFixtures.ffmpegPath != nil, MediaFixtures.ffprobePath != nil else {
            throw XCTSkip("these tests need the ffmpeg and ffprobe CLIs")
        }
        FFmpegLog.quiet()
        Cancellation.reset()
        media = try MediaFixtures()
    }

    override func tearDown() {
        Cancellation.reset()
        media?.remove()
    }

    // MARK: - Helpers

    func job(_ input: String, _ configure: (inout Job) -> Void = { _ in }) -> Job {
        var j = Job(kind: .mp3, input: input, output: media.path("final.mp3"))
        configure(&j)
        return j
    }

    /// Renders `job` into a fresh temp path; returns the result and the path.
    func render(_ job: Job, to name: String = "out.mp3",
                progress: @escaping (Double, MP3Pipeline.Stage) -> Void = { _, _ in }) throws -> (RenderResult, String) {
        let temp = media.path(name)
        let result = try MP3Pipeline(job: job, tempPath: temp, progress: progress).run()
        return (result, temp)
    }

    /// Renders a job that must fail; checks the temp file is gone.
    func renderError(_ job: Job, file: StaticString = #filePath, line: UInt = #line) -> RenderError? {
        let temp = media.path("failed.mp3")
        do {
            let r = try MP3Pipeline(job: job, tempPath: temp).run()
            XCTFail("expected a failure, got \(r)", file: file, line: line)
            return nil
        } catch {
            XCTAssertFalse(media.exists("failed.mp3"), "the temp file is removed on failure", file: file, line: line)
            return error
        }
    }

    /// The ffmpeg CLI's encode of `input` (`-c:a libmp3lame -b:a 128k`, plus `extra` input options).
    func cliEncode(_ input: String, name: String, inputOptions: [String] = []) throws -> String {
        let out = media.path(name)
        try media.ffmpeg(inputOptions + ["-i", input, "-c:a", "libmp3lame", "-b:a", "128k", out])
        return out
    }

    /// Samples per channel a decoder outputs for `file`.
    func decodedSamples(_ file: String) throws -> Int { try media.decodeMono(file).count }

    // MARK: - Formats and parity with the ffmpeg CLI

    func testWAVMatchesTheFFmpegCLIExactly() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 3)
        let (result, out) = try render(job(wav))

        let probe = try media.probe(out)
        XCTAssertEqual(probe.codec, "mp3")
        XCTAssertEqual(probe.sampleRate, 44100)
        XCTAssertEqual(probe.channels, 2)
        XCTAssertEqual(probe.streams, 1)
        XCTAssertEqual(try decodedSamples(out), 132_300, "a decoder plays exactly the input's samples (LAME header trims the delay)")

        // What `ffmpeg -i IN -c:a libmp3lame -b:a 128k OUT` makes, decoded, is the same audio, sample for sample.
        let cli = try cliEncode(wav, name: "cli.mp3")
        XCTAssertEqual(try media.decodeRaw(out), try media.decodeRaw(cli))

        XCTAssertEqual(result.codec, "mp3")
        XCTAssertEqual(result.sampleRate, 44100)
        XCTAssertEqual(result.channels, 2)
        XCTAssertEqual(result.bitrate, 128)
        XCTAssertEqual(result.duration, 3.0, accuracy: 0.0005, "duration from packets equals the full decode")
        XCTAssertEqual(result.mediaSeconds, 3.0, accuracy: 0.0005)
        let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int
        XCTAssertEqual(Int64(size ?? -1), result.bytes)
    }

    func testEveryInputFormatMatchesTheCLIWithinOneFrame() throws {
        let flac = media.path("in.flac")
        try media.ffmpeg(["-f", "lavfi", "-i", "sine=f=440:d=3:sample_rate=48000", "-ac", "2", flac])
        let cases: [(name: String, make: [String], rate: Int, channels: Int, seconds: Double)] = [
            ("in.flac", [], 48000, 2, 3),
            ("in.ogg", ["-i", flac, "-c:a", "libvorbis"], 48000, 2, 3),
            ("in.opus", ["-i", flac, "-c:a", "libopus"], 48000, 2, 3),
            ("in.m4a", ["-i", flac, "-c:a", "aac"], 48000, 2, 3),
            ("in.webm", ["-i", flac, "-c:a", "libopus"], 48000, 2, 3),
            ("in-mono.mp3", ["-i", flac, "-ac", "1", "-c:a", "libmp3lame"], 48000, 1, 3),
            ("in-51.wav", ["-f", "lavfi", "-i", "sine=f=300:d=2:sample_rate=96000", "-ac", "6"], 48000, 2, 2),
            ("in-22k.wav", ["-f", "lavfi", "-i", "sine=f=300:d=2:sample_rate=22050", "-ac", "1"], 22050, 1, 2),
            ("in-37k.wav", ["-f", "lavfi", "-i", "sine=f=300:d=2:sample_rate=37800"], 44100, 1, 2),
        ]
        for c in cases {
            let input = media.path(c.name)
            if !c.make.isEmpty { try media.ffmpeg(c.make + [input]) }
            let (result, out) = try render(job(input), to: "out-\(c.name).mp3")
            let probe = try media.probe(out)
            XCTAssertEqual(probe.codec, "mp3", c.name)
            XCTAssertEqual(probe.sampleRate, c.rate, c.name)
            XCTAssertEqual(probe.channels, c.channels, c.name)
            let ours = try decodedSamples(out)
            // The CLI may pick another rate for odd inputs (32 kHz for 37.8 kHz): compare seconds.
            let cliFile = try cliEncode(input, name: "cli-\(c.name).mp3")
            let cliSeconds = Double(try decodedSamples(cliFile)) / Double(try media.probe(cliFile).sampleRate)
            XCTAssertEqual(Double(ours) / Double(c.rate), cliSeconds, accuracy: Double(frame) / Double(c.rate),
                           "\(c.name): \(ours) samples at \(c.rate) Hz, the CLI's \(cliSeconds) s")
            XCTAssertLessThanOrEqual(abs(ours - Int(c.seconds * Double(c.rate))), frame, c.name)
            XCTAssertEqual(result.duration, Double(ours) / Double(c.rate), accuracy: 0.001,
                           "\(c.name): packet-based duration equals the full decode")
        }
    }

    func testVideoFileGivesItsAudio() throws {
        let mp4 = media.path("film.mp4")
        try media.ffmpeg(["-f", "lavfi", "-i", "testsrc=d=2:s=160x120:r=25", "-f", "lavfi", "-i", "sine=f=440:d=2:sample_rate=44100",
                          "-c:v", "libx264", "-c:a", "aac", "-ac", "2", "-shortest", mp4])
        let (result, out) = try render(job(mp4))
        let probe = try media.probe(out)
        XCTAssertEqual(probe.streams, 1, "only the audio")
        XCTAssertEqual(probe.codec, "mp3")
        XCTAssertEqual(result.channels, 2)
        let cli = try decodedSamples(try cliEncode(mp4, name: "cli.mp3"))
        XCTAssertLessThanOrEqual(abs(try decodedSamples(out) - cli), frame)
        XCTAssertEqual(result.duration, 2.0, accuracy: 0.05)
    }

    func testCoverArtIsIgnored() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 2)
        let withCover = media.path("cover.mp3")
        try media.ffmpeg(["-i", wav, "-f", "lavfi", "-i", "color=red:s=64x64:d=1", "-map", "0:a", "-map", "1:v", "-frames:v", "1",
                          "-c:v", "mjpeg", "-disposition:v", "attached_pic", "-c:a", "libmp3lame", withCover])
        XCTAssertEqual(try media.probe(withCover).streams, 2)
        let (result, out) = try render(job(withCover))
        XCTAssertEqual(try media.probe(out).streams, 1)
        XCTAssertEqual(result.duration, 2.0, accuracy: 0.001, "an MP3 input's own delay is trimmed too")
    }

    // MARK: - Options

    func testTrimIsSampleAccurate() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 5)
        let (result, out) = try render(job(wav) { $0.start = 1.5; $0.duration = 2 })
        XCTAssertEqual(try decodedSamples(out), 88_200, "2.000 s exactly")
        XCTAssertEqual(result.duration, 2.0, accuracy: 0.0005)
        let cli = try decodedSamples(try cliEncode(wav, name: "cli.mp3", inputOptions: ["-ss", "1.5", "-t", "2"]))
        XCTAssertLessThanOrEqual(abs(88_200 - cli), frame)
    }

    /// A tone that changes from 440 to 1760 Hz at 2.000 s: after trimming
    /// `start` seconds, the change must sit at 2.000 - start in the output.
    func assertToneChange(inputRate: Int, outputRate: Int?, start: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        let wav = try media.writeWAV("change-\(inputRate).wav", seconds: 4, sampleRate: inputRate, channels: 1,
                                     frequency: 440, switchTo: (1760, 2.0))
        let (result, out) = try render(job(wav) { $0.start = start; $0.duration = 2; $0.mp3.sampleRate = outputRate; $0.mp3.bitrate = 320 },
                                       to: "change-\(inputRate)-\(start).mp3")
        let rate = result.sampleRate
        let pcm = try media.decodeMono(out)
        XCTAssertEqual(pcm.count, 2 * rate, "2.000 s exactly", file: file, line: line)
        // First 2 ms block where 1760 Hz dominates.
        let block = rate / 500
        var change: Int?
        for b in stride(from: 0, to: pcm.count - block, by: block) {
            let slice = pcm[b..<(b + block)]
            if MediaFixtures.power(of: 1760, in: slice, sampleRate: rate) > 4 * MediaFixtures.power(of: 440, in: slice, sampleRate: rate) {
                change = b
                break
            }
        }
        let expected = (2.0 - start) * Double(rate)
        XCTAssertNotNil(change, file: file, line: line)
        XCTAssertEqual(Double(change ?? 0), expected, accuracy: Double(2 * block),
                       "the change lands at \(2.0 - start) s (within 4 ms), not a frame or a seek away", file: file, line: line)
    }

    func testTrimPutsAToneChangeWhereExpected() throws {
        try assertToneChange(inputRate: 44100, outputRate: nil, start: 1.25)  // seeks (start > preroll)
        try assertToneChange(inputRate: 44100, outputRate: nil, start: 0.75)
        try assertToneChange(inputRate: 48000, outputRate: 44100, start: 1.5)  // through the resampler
        try assertToneChange(inputRate: 44100, outputRate: 22050, start: 0.3)  // no seek, MPEG-2 frames
    }

    func testInputShorterThanTheTrimGivesWhatExists() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 3)
        let (result, out) = try render(job(wav) { $0.start = 2; $0.duration = 5 })
        XCTAssertEqual(try decodedSamples(out), 44_100)
        XCTAssertEqual(result.duration, 1.0, accuracy: 0.0005)
    }

    func testVBR() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 3)
        let (result, out) = try render(job(wav) { $0.mp3.quality = 6 })
        XCTAssertEqual(try decodedSamples(out), 132_300)
        XCTAssertLessThan(result.bitrate, 128, "a pure tone at quality 6 needs far less than 128 kbit/s")
        XCTAssertGreaterThan(result.bitrate, 8)
        let (cbr, _) = try render(job(wav), to: "cbr.mp3")
        XCTAssertLessThan(result.bytes, cbr.bytes)
    }

    func testSampleRateAndChannelsFromTheJob() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 2)
        let (result, out) = try render(job(wav) { $0.mp3.sampleRate = 8000; $0.mp3.channels = 1; $0.mp3.bitrate = 32 })
        let probe = try media.probe(out)
        XCTAssertEqual(probe.sampleRate, 8000)
        XCTAssertEqual(probe.channels, 1)
        XCTAssertEqual(try decodedSamples(out), 16_000)
        XCTAssertEqual(result.bitrate, 32)
    }

    func testID3TagsAreWritten() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 1)
        let (_, out) = try render(job(wav) { $0.mp3.metadata = [("title", "Ünïcødé talk"), ("artist", "The Speaker"), ("track", "3")] })
        let tags = try media.probe(out).tags
        XCTAssertEqual(tags["title"], "Ünïcødé talk")
        XCTAssertEqual(tags["artist"], "The Speaker")
        XCTAssertEqual(tags["track"], "3")
    }

    func testProgressIsReportedByStage() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 3)
        var seen: [(Double, MP3Pipeline.Stage)] = []
        _ = try render(job(wav)) { seen.append(($0, $1)) }
        XCTAssertEqual(seen.first?.1, .probing)
        XCTAssertEqual(seen.last?.1, .verifying)
        let encoding = seen.filter { $0.1 == .encoding }.map(\.0)
        XCTAssertGreaterThan(encoding.count, 10)
        XCTAssertEqual(encoding, encoding.sorted(), "progress only grows")
        XCTAssertTrue(seen.allSatisfy { (0...1).contains($0.0) })
        XCTAssertEqual(encoding.last, 1)
    }

    // MARK: - Failures

    func testInputWithoutAudioIsNoAudio() throws {
        let mp4 = media.path("silent-film.mp4")
        try media.ffmpeg(["-f", "lavfi", "-i", "testsrc=d=1:s=160x120:r=25", "-c:v", "libx264", mp4])
        let e = renderError(job(mp4))
        XCTAssertEqual(e, .noAudio(path: mp4))
        XCTAssertEqual(e?.code, "no-audio")
        XCTAssertEqual(e?.exitStatus, 1)
    }

    func testGarbageIsInvalidMediaNamingTheFile() throws {
        let bad = try media.writeGarbage("talk.wav")
        let e = renderError(job(bad))
        XCTAssertEqual(e?.code, "invalid-media")
        XCTAssertEqual(e?.description, "could not open input '\(bad)': Invalid data found when processing input")
        XCTAssertEqual(e?.isTransient, false)
        for i in 0..<20 {
            let noise = try media.writeGarbage("noise-\(i).wav", random: true)
            // Mostly "Invalid data…"; now and then a probe guesses a refused format (lrc).
            guard case let .invalidMedia(path, action, _)? = renderError(job(noise)) else { return XCTFail("noise \(i)") }
            XCTAssertEqual(path, noise)
            XCTAssertEqual(action, "open")
        }
    }

    func testTruncatedFileIsInvalidMedia() throws {
        let flac = media.path("full.flac")
        try media.ffmpeg(["-f", "lavfi", "-i", "anoisesrc=d=4:r=44100", flac])
        let size = try FileManager.default.attributesOfItem(atPath: flac)[.size] as! Int
        let cut = try media.truncatedCopy(of: flac, to: "cut.flac", bytes: size / 3)
        let e = renderError(job(cut))
        XCTAssertEqual(e?.code, "invalid-media")
        XCTAssertTrue(e?.description.contains("'\(cut)'") ?? false, e?.description ?? "")
        XCTAssertTrue(e?.description.contains("truncated") ?? false, e?.description ?? "")

        // A header and nothing else.
        let wav = try media.writeWAV("tone.wav", seconds: 1)
        let header = try media.truncatedCopy(of: wav, to: "header.wav", bytes: 44)
        XCTAssertEqual(renderError(job(header))?.code, "invalid-media")
        let empty = try media.truncatedCopy(of: wav, to: "empty.wav", bytes: 0)
        XCTAssertEqual(renderError(job(empty)), .invalidMedia(path: empty, action: "open", reason: "the file is empty"))
    }

    func testStartPastTheEndIsTrimOutOfRange() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 3)
        let e = renderError(job(wav) { $0.start = 7.5 })
        XCTAssertEqual(e, .trimOutOfRange(path: wav, start: 7.5, inputDuration: 3))
        XCTAssertEqual(e?.description, "start 7.5 s is beyond the end of input '\(wav)' (3 s long)")

        // Without a trustworthy container duration (MP3 without a Xing header) the decoder finds out.
        let mp3 = media.path("noxing.mp3")
        try media.ffmpeg(["-i", wav, "-c:a", "libmp3lame", "-write_xing", "0", mp3])
        guard case let .trimOutOfRange(_, start, length)? = renderError(job(mp3) { $0.start = 10 }) else {
            return XCTFail("expected trim-out-of-range")
        }
        XCTAssertEqual(start, 10)
        XCTAssertEqual(length, 3, accuracy: 0.1)
    }

    func testMissingInputAndDirectoryAreUnreadable() throws {
        let e = renderError(job(media.path("nope.wav")))
        XCTAssertEqual(e, .inputUnreadable(path: media.path("nope.wav"), reason: "No such file or directory", transient: false))
        XCTAssertEqual(renderError(job(media.dir)), .inputUnreadable(path: media.dir, reason: "it is a directory", transient: false))
        // A FIFO is refused without blocking on it (no writer ever comes).
        let fifo = media.path("fifo.wav")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(renderError(job(fifo)), .inputUnreadable(path: fifo, reason: "it is not a regular file", transient: false))
    }

    func testPlaylistsAreRefused() throws {
        let m3u8 = media.path("list.m3u8")
        try Data("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/hostname\n#EXT-X-ENDLIST\n".utf8)
            .write(to: URL(fileURLWithPath: m3u8))
        let e = renderError(job(m3u8))
        XCTAssertEqual(e?.code, "invalid-media")
        XCTAssertTrue(e?.description.contains("format 'hls' is not accepted") ?? false, e?.description ?? "")
    }

    func testExistingTempFileIsRefusedAndKept() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 1)
        let temp = media.path("taken.mp3")
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: temp))
        do {
            _ = try MP3Pipeline(job: job(wav), tempPath: temp).run()
            XCTFail("an existing temp file must be refused")
        } catch {
            guard case let .io(e) = error else { return XCTFail("expected an io error, got \(error)") }
            XCTAssertEqual(e.errno, EEXIST)
            XCTAssertEqual(error.code, "io")
            XCTAssertFalse(error.isTransient)
        }
        XCTAssertEqual(try String(contentsOfFile: temp, encoding: .utf8), "someone else's", "not ours: left alone")
    }

    func testCancelDuringEncodingRemovesTheTemp() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 3)
        let temp = media.path("cancelled.mp3")
        do {
            _ = try MP3Pipeline(job: job(wav), tempPath: temp) { _, stage in
                if stage == .encoding { Cancellation.request() }
            }.run()
            XCTFail("expected a cancel")
        } catch {
            XCTAssertEqual(error, .cancelled(path: wav))
            XCTAssertTrue(error.isTransient)
            XCTAssertEqual(error.exitStatus, 75)
        }
        XCTAssertFalse(media.exists("cancelled.mp3"))
    }

    // MARK: - Verification

    func testVerifierMeasuresLikeAFullDecode() throws {
        let wav = try media.writeWAV("tone.wav", seconds: 2.5, sampleRate: 24000, channels: 1)
        let (_, out) = try render(job(wav) { $0.mp3.quality = 4 })
        let m = try OutputVerifier.measure(path: out)
        XCTAssertEqual(m.samples, Int64(try decodedSamples(out)))
        XCTAssertEqual(m.samples, 60_000)
        XCTAssertThrowsError(try OutputVerifier().verify(path: out, inputPath: wav, expectedSamples: 60_000 + 2400,
                                                         sampleRate: 24000, channels: 1)) { error in
            XCTAssertEqual(error as? RenderError, .verify(path: wav, reason: "expected 2.6 s of audio, found 2.5 s"))
        }
        XCTAssertThrowsError(try OutputVerifier().verify(path: out, inputPath: wav, expectedSamples: 60_000,
                                                         sampleRate: 24000, channels: 2))
        XCTAssertNoThrow(try OutputVerifier().verify(path: out, inputPath: wav, expectedSamples: 60_000 + 1000,
                                                     sampleRate: 24000, channels: 1), "within 50 ms")
    }
}
