import ExportCore
@testable import ExportRender
import Foundation
import XCTest

/// Runs the real mp4 pipeline on generated media and checks the file the way
/// a user would: ffprobe for the layout, the ffmpeg CLI to decode pictures
/// at chosen times, and the pixels of those pictures.
final class MP4PipelineTests: XCTestCase {
    var media: MediaFixtures!

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

    /// A still of one colour (`ffmpeg -f lavfi color`), PNG or JPEG by extension.
    func still(_ name: String, _ color: String, size: String = "320x240") throws -> String {
        try media.ffmpeg(["-f", "lavfi", "-i", "color=\(color):s=\(size)", "-frames:v", "1", media.path(name)])
        return media.path(name)
    }

    func slideshow(_ slides: [Slide], audio: String? = nil, width: Int = 320, height: Int = 240,
                   _ configure: (inout MP4Options) -> Void = { _ in }) -> Job {
        var j = Job(kind: .mp4, input: "", output: media.path("final.mp4"))
        j.mp4 = MP4Options(width: width, height: height, audio: audio, slides: slides, preset: "ultrafast")
        configure(&j.mp4)
        return j
    }

    func render(_ job: Job, progress: @escaping (Double, RenderStage) -> Void = { _, _ in }) throws -> (RenderResult, String) {
        let temp = media.path("out.mp4")
        try? FileManager.default.removeItem(atPath: temp)
        return (try MP4Pipeline(job: job, tempPath: temp, progress: progress).run(), temp)
    }

    func renderError(_ job: Job, file: StaticString = #filePath, line: UInt = #line) -> RenderError? {
        do {
            let r = try MP4Pipeline(job: job, tempPath: media.path("failed.mp4")).run()
            XCTFail("expected a failure, got \(r)", file: file, line: line)
            return nil
        } catch {
            XCTAssertFalse(media.exists("failed.mp4"), "the temp file is removed on failure", file: file, line: line)
            return error
        }
    }

    /// ffprobe's fields of each stream and of the container, as "index:key" → value.
    func probe(_ file: String) throws -> [String: String] {
        let r = try MediaFixtures.run(MediaFixtures.ffprobePath!, [
            "-v", "error", "-show_entries",
            "stream=index,codec_name,codec_type,width,height,pix_fmt,profile,duration,nb_frames,sample_rate,channels,r_frame_rate:format=duration",
            "-of", "default=nw=1", file])
        guard r.status == 0 else { throw FixtureError("ffprobe failed: \(r.stderr)") }
        var out: [String: String] = [:]
        var index = "format"
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            if kv[0] == "index" { index = kv[1]; continue }
            out["\(index):\(kv[0])", default: kv[1]] = kv[1]
        }
        return out
    }

    /// The picture at `seconds`, decoded by the ffmpeg CLI as RGB24.
    func picture(_ file: String, at seconds: Double, width: Int, height: Int) throws -> [UInt8] {
        let r = try MediaFixtures.run(MediaFixtures.ffmpegPath!, [
            "-nostdin", "-v", "error", "-i", file, "-ss", String(seconds), "-frames:v", "1",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        guard r.status == 0 else { throw FixtureError("decoding a frame failed: \(r.stderr)") }
        let bytes = [UInt8](r.stdout)
        XCTAssertEqual(bytes.count, width * height * 3, "one whole picture")
        return bytes
    }

    func pixel(_ p: [UInt8], _ x: Int, _ y: Int, width: Int) -> (Int, Int, Int) {
        let i = (y * width + x) * 3
        return (Int(p[i]), Int(p[i + 1]), Int(p[i + 2]))
    }

    func assertColor(_ c: (Int, Int, Int), _ expected: (Int, Int, Int), tolerance: Int = 24, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssert(abs(c.0 - expected.0) <= tolerance && abs(c.1 - expected.1) <= tolerance && abs(c.2 - expected.2) <= tolerance,
                  "\(what): got \(c), expected \(expected)", file: file, line: line)
    }

    /// Count of pixels in rows `rows` brighter than `threshold` in every channel.
    func brightPixels(_ p: [UInt8], width: Int, rows: Range<Int>, threshold: Int = 200) -> Int {
        var n = 0
        for y in rows {
            for x in 0..<width {
                let c = pixel(p, x, y, width: width)
                if c.0 > threshold && c.1 > threshold && c.2 > threshold { n += 1 }
            }
        }
        return n
    }

    func topLevelBoxes(_ file: String) throws -> [String] {
        let d = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        var at = 0, names: [String] = []
        while at + 8 <= d.count {
            var size = d[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
            names.append(String(decoding: d[at + 4..<at + 8], as: UTF8.self))
            if size == 1 { size = d[at + 8..<at + 16].reduce(0) { $0 << 8 | Int($1) } }
            guard size >= 8 else { break }
            at += size
        }
        return names
    }

    // MARK: - Slides over audio

    func testSlidesOverAudioLastAsLongAsTheAudioWithOneH264AndOneAACStreamAndFastStart() throws {
        let red = try still("red.png", "red"), blue = try still("blue.jpg", "blue")
        let wav = try media.writeWAV("talk.wav", seconds: 3.2)
        var job = slideshow([Slide(image: red, duration: 1), Slide(image: blue)], audio: wav)
        job.mp4.preset = MP4Options.defaultPreset  // ultrafast turns off what makes a stream High profile
        var stages: [RenderStage] = []
        var last = 0.0
        let (result, out) = try render(job) { p, s in
            XCTAssertGreaterThanOrEqual(p, s == .encoding ? last : 0, "progress never goes back within encoding")
            if s == .encoding { last = p }
            if stages.last != s { stages.append(s) }
        }
        XCTAssertEqual(stages, [.probing, .encoding, .verifying])
        XCTAssertEqual(last, 1, accuracy: 1e-9)

        let p = try probe(out)
        XCTAssertEqual(p["0:codec_name"], "h264")
        XCTAssertEqual(p["0:profile"], "High")
        XCTAssertEqual(p["0:pix_fmt"], "yuv420p")
        XCTAssertEqual(p["0:width"], "320")
        XCTAssertEqual(p["0:height"], "240")
        XCTAssertEqual(p["0:r_frame_rate"], "30/1")
        XCTAssertEqual(p["0:nb_frames"], "96", "3.2 s at 30 fps")
        XCTAssertEqual(p["1:codec_name"], "aac")
        XCTAssertEqual(p["1:sample_rate"], "44100")
        XCTAssertEqual(p["1:channels"], "2")
        XCTAssertNil(p["2:codec_type"], "exactly two streams")
        XCTAssertEqual(Double(p["0:duration"] ?? "") ?? 0, 3.2, accuracy: 1.0 / 30)
        XCTAssertEqual(Double(p["1:duration"] ?? "") ?? 0, 3.2, accuracy: 0.03)
        let boxes = try topLevelBoxes(out)
        XCTAssertLessThan(boxes.firstIndex(of: "moov") ?? .max, boxes.firstIndex(of: "mdat") ?? -1, "fast start: \(boxes)")

        XCTAssertEqual(result.codec, "h264")
        XCTAssertEqual(result.width, 320)
        XCTAssertEqual(result.frames, 96)
        XCTAssertEqual(result.duration, 3.2, accuracy: 1.0 / 30)

        // The first slide for its second, then the second to the end.
        assertColor(pixel(try picture(out, at: 0.5, width: 320, height: 240), 160, 120, width: 320), (255, 0, 0), "slide 1 at 0.5 s")
        assertColor(pixel(try picture(out, at: 2.9, width: 320, height: 240), 160, 120, width: 320), (0, 0, 255), "slide 2 at 2.9 s")
    }

    func testSlidesWithoutDurationShareTheRestAndAFadeBlendsIntoTheNext() throws {
        let red = try still("red.png", "red"), blue = try still("blue.png", "blue"), white = try still("white.png", "white")
        let wav = try media.writeWAV("talk.wav", seconds: 3)
        let job = slideshow([Slide(image: red, duration: 1), Slide(image: blue), Slide(image: white)], audio: wav) {
            $0.transition = Transition(kind: .fade, duration: 0.4)
        }
        let (_, out) = try render(job)
        // 1 s, then 1 s each for the two without a duration.
        assertColor(pixel(try picture(out, at: 0.3, width: 320, height: 240), 10, 10, width: 320), (255, 0, 0), "red before its fade")
        assertColor(pixel(try picture(out, at: 1.3, width: 320, height: 240), 10, 10, width: 320), (0, 0, 255), "blue")
        assertColor(pixel(try picture(out, at: 2.5, width: 320, height: 240), 10, 10, width: 320), (255, 255, 255), "white to the end")
        // Half way through the fade from red to blue (0.6…1.0 s): both at once.
        let mid = pixel(try picture(out, at: 0.8, width: 320, height: 240), 10, 10, width: 320)
        XCTAssert(mid.0 > 60 && mid.0 < 200 && mid.2 > 60 && mid.2 < 200, "a blend of red and blue at 0.8 s: \(mid)")
    }

    func testWithoutAudioTheVideoIsTheSumOfTheSlidesWithASilentTrack() throws {
        let job = slideshow([Slide(duration: 1, background: Color(hex: "#00ff00")), Slide(duration: 0.5, background: .white)])
        let (_, out) = try render(job)
        let p = try probe(out)
        XCTAssertEqual(p["0:nb_frames"], "45")
        XCTAssertEqual(p["1:codec_name"], "aac", "a silent AAC track keeps the layout")
        XCTAssertEqual(Double(p["1:duration"] ?? "") ?? 0, 1.5, accuracy: 0.03)
        let silence = try media.decodeMono(out)
        XCTAssertEqual(silence.map { abs(Int($0)) }.max() ?? 1, 0, "the track is silent")
        assertColor(pixel(try picture(out, at: 0.5, width: 320, height: 240), 5, 5, width: 320), (0, 255, 0), "a background slide")
    }

    func testACaptionShowsInItsBandOnlyWhileItIsOn() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 3)
        let job = slideshow([Slide(background: Color(hex: "#202020"))], audio: wav, width: 320, height: 240) {
            $0.captions = [CaptionCue(start: 1, end: 2, text: "Hello captions")]
            $0.style.fontSize = 32
            $0.style.color = .white
        }
        let (_, out) = try render(job)
        let before = try picture(out, at: 0.5, width: 320, height: 240)
        let during = try picture(out, at: 1.5, width: 320, height: 240)
        let after = try picture(out, at: 2.5, width: 320, height: 240)
        XCTAssertEqual(brightPixels(before, width: 320, rows: 0..<240), 0, "no text before the cue")
        XCTAssertGreaterThan(brightPixels(during, width: 320, rows: 140..<240), 100, "white text in the bottom band during the cue")
        XCTAssertEqual(brightPixels(during, width: 320, rows: 0..<100), 0, "nothing in the top of the frame")
        XCTAssertEqual(brightPixels(after, width: 320, rows: 0..<240), 0, "no text after the cue")
    }

    func testSlideTextIsDrawnOnItsSlideOnly() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 2)
        var top = TextStyle()
        top.position = .top
        top.fontSize = 30
        let job = slideshow([Slide(duration: 1, background: .black, text: "Title", style: top),
                             Slide(background: .black)], audio: wav)
        let (_, out) = try render(job)
        XCTAssertGreaterThan(brightPixels(try picture(out, at: 0.5, width: 320, height: 240), width: 320, rows: 0..<80), 50)
        XCTAssertEqual(brightPixels(try picture(out, at: 1.5, width: 320, height: 240), width: 320, rows: 0..<240), 0)
    }

    func testRightToLeftAndEmojiCaptionsRender() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 1.5)
        let job = slideshow([Slide(background: .black)], audio: wav) {
            $0.captions = [CaptionCue(start: 0, end: 0.5, text: "שלום עולם"), CaptionCue(start: 0.5, end: 1, text: "مرحبا بالعالم"),
                           CaptionCue(start: 1, end: 1.5, text: "🎉 launch day 🚀")]
        }
        let (_, out) = try render(job)
        for t in [0.25, 0.75] {
            XCTAssertGreaterThan(brightPixels(try picture(out, at: t, width: 320, height: 240), width: 320, rows: 120..<240), 30, "text at \(t) s")
        }
    }

    func testAMissingSlideImageFailsAndLeavesNoTemp() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 1)
        guard case let .inputUnreadable(path, _, _)? = renderError(slideshow([Slide(image: media.path("nope.png"))], audio: wav)) else {
            return XCTFail("expected inputUnreadable")
        }
        XCTAssertEqual(path, media.path("nope.png"))
    }

    /// The audio of a slideshow is encoded on its own thread (AudioAhead) and
    /// handed to the muxer after each video frame. 40 s of audio is 1,723 AAC
    /// packets, over three times the queue's 512: the encoder waits for the
    /// muxer many times. Every sample arrives, in order (a tone change lands
    /// where it was), and the file stays interleaved.
    func testAudioEncodedAheadOfTheVideoArrivesWholeInOrderAndInterleaved() throws {
        let grey = try still("grey.png", "gray", size: "160x120")
        let wav = try media.writeWAV("long.wav", seconds: 40, channels: 1, frequency: 440, switchTo: (1760, 30.0))
        let (_, out) = try render(slideshow([Slide(image: grey)], audio: wav, width: 160, height: 120))
        let p = try probe(out)
        XCTAssertEqual(Double(p["1:duration"] ?? "") ?? 0, 40, accuracy: 0.03)
        XCTAssertEqual(p["0:nb_frames"], "1200")

        let pcm = try media.decodeMono(out)
        XCTAssertEqual(Double(pcm.count), 40 * 44100, accuracy: 1024, "every sample")
        let block = 441  // 10 ms
        var change: Int?
        for b in stride(from: 0, to: pcm.count - block, by: block) {
            let slice = pcm[b..<(b + block)]
            if MediaFixtures.power(of: 1760, in: slice, sampleRate: 44100) > 4 * MediaFixtures.power(of: 440, in: slice, sampleRate: 44100) {
                change = b
                break
            }
        }
        XCTAssertEqual(Double(change ?? 0) / 44100, 30, accuracy: 0.03, "the tone changes at 30 s, as in the input")

        // In file order, no audio packet is more than 2 s from the video packet before it.
        let ffprobe = try XCTUnwrap(MediaFixtures.ffprobePath)
        let r = try MediaFixtures.run(ffprobe, ["-v", "error", "-show_entries", "packet=stream_index,dts_time", "-of", "csv=p=0", out])
        var lastVideo = 0.0, worst = 0.0, audioPackets = 0
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: ",")
            guard f.count == 2, let t = Double(f[1]) else { continue }
            if f[0] == "0" { lastVideo = t } else { audioPackets += 1; worst = max(worst, abs(t - lastVideo)) }
        }
        XCTAssertGreaterThan(audioPackets, 1700)
        XCTAssertLessThan(worst, 2, "audio and video interleaved in the file")
    }

    /// Cancelled while the audio thread is ahead (or waiting for room): the
    /// render stops, the thread is joined, and nothing is left.
    func testACancelledSlideshowStopsItsAudioThread() throws {
        let grey = try still("grey.png", "gray", size: "160x120")
        let wav = try media.writeWAV("long.wav", seconds: 40, channels: 1)
        let job = slideshow([Slide(image: grey)], audio: wav, width: 160, height: 120)
        let temp = media.path("cancelled.mp4")
        let started = Date()
        do {
            _ = try MP4Pipeline(job: job, tempPath: temp) { p, _ in if p > 0.25 { Cancellation.request() } }.run()
            XCTFail("expected a cancel")
        } catch {
            guard case .cancelled = error else { return XCTFail("expected cancelled, got \(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertFalse(media.exists("cancelled.mp4"), "the temp file is removed")
    }

    // MARK: - Re-encode

    func clip(seconds: Double = 3, size: String = "640x360", rate: Int = 25, audio: Bool = true, extra: [String] = []) throws -> String {
        let out = media.path("clip.mp4")
        var args = ["-f", "lavfi", "-i", "testsrc2=s=\(size):r=\(rate):d=\(seconds)"]
        if audio { args += ["-f", "lavfi", "-i", "sine=f=440:d=\(seconds)"] }
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] + (audio ? ["-c:a", "aac", "-shortest"] : []) + extra + [out]
        try media.ffmpeg(args)
        return out
    }

    func reencode(_ input: String, width: Int, height: Int, _ configure: (inout Job) -> Void = { _ in }) -> Job {
        var j = Job(kind: .mp4, input: input, output: media.path("final.mp4"))
        j.mp4 = MP4Options(width: width, height: height, fit: .contain, background: Color(hex: "#ff0000")!, preset: "ultrafast")
        configure(&j)
        return j
    }

    func testReencodeTrimsScalesLetterboxesAndKeepsTheAudio() throws {
        let input = try clip()
        let (result, out) = try render(reencode(input, width: 320, height: 320) { $0.start = 0.5; $0.duration = 2 })
        let p = try probe(out)
        XCTAssertEqual(p["0:width"], "320")
        XCTAssertEqual(p["0:height"], "320")
        XCTAssertEqual(p["0:nb_frames"], "60", "2 s at 30 fps from a 25 fps input")
        XCTAssertEqual(Double(p["0:duration"] ?? "") ?? 0, 2, accuracy: 1.0 / 30)
        XCTAssertEqual(p["1:codec_name"], "aac")
        XCTAssertEqual(Double(p["1:duration"] ?? "") ?? 0, 2, accuracy: 0.03)
        XCTAssertEqual(result.frames, 60)
        // 16:9 into a square: the background colour above and below the picture.
        let pic = try picture(out, at: 1, width: 320, height: 320)
        assertColor(pixel(pic, 160, 10, width: 320), (255, 0, 0), "letterbox above")
        assertColor(pixel(pic, 160, 310, width: 320), (255, 0, 0), "letterbox below")
        let mid = pixel(pic, 160, 160, width: 320)
        XCTAssertFalse(abs(mid.0 - 255) < 30 && mid.1 < 30 && mid.2 < 30, "the picture in the middle: \(mid)")
        // The tone survives: a 440 Hz sine in the audio.
        let samples = try media.decodeMono(out)
        XCTAssertGreaterThan(samples.count, 40000)
        let rate = 44100
        let mid440 = MediaFixtures.power(of: 440, in: samples[rate / 2..<rate], sampleRate: rate)
        let off = MediaFixtures.power(of: 1000, in: samples[rate / 2..<rate], sampleRate: rate)
        XCTAssertGreaterThan(mid440, 100 * off)
    }

    func testReencodedPicturesMatchTheCLIsScaleOfTheSameFrames() throws {
        // With sound, so audio and video packets share the demuxer; the clock in testsrc2 moves every frame.
        let input = try clip(seconds: 3, size: "640x360", rate: 30)
        let (_, out) = try render(reencode(input, width: 320, height: 180) { $0.mp4.fit = .stretch; $0.start = 0.5 })
        let reference = media.path("reference.mp4")
        try media.ffmpeg(["-ss", "0.5", "-i", input, "-vf", "scale=320:180", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", reference])
        for t in [0.2, 1.0, 2.2] {
            let a = try picture(out, at: t, width: 320, height: 180), b = try picture(reference, at: t, width: 320, height: 180)
            let diff = zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) } / a.count
            XCTAssertLessThan(diff, 8, "the picture at \(t) s is the CLI's (mean difference \(diff))")
        }
    }

    func testReencodeOfAVideoWithoutSoundGetsASilentTrack() throws {
        let input = try clip(seconds: 1, audio: false)
        let (_, out) = try render(reencode(input, width: 160, height: 90))
        let p = try probe(out)
        XCTAssertEqual(p["0:nb_frames"], "30")
        XCTAssertEqual(p["1:codec_name"], "aac")
    }

    func testReencodeHonoursRotation() throws {
        // A landscape clip whose track matrix says "turn 90°" (how phones store portrait video).
        let input = media.path("rotated.mp4")
        try media.ffmpeg(["-f", "lavfi", "-i", "color=red:s=320x180:d=1,drawbox=x=0:y=0:w=160:h=180:color=blue:t=fill",
                          "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", input])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input)))
        let tkhd = try XCTUnwrap((0..<bytes.count - 4).first { bytes[$0..<$0 + 4] == ArraySlice("tkhd".utf8) })
        let matrix: [Int32] = [0, 0x10000, 0, -0x10000, 0, 0, 180 << 16, 0, 0x4000_0000]
        for (i, v) in matrix.enumerated() {
            for k in 0..<4 { bytes[tkhd - 4 + 48 + i * 4 + k] = UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> (24 - 8 * UInt32(k))) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        // The ffmpeg CLI turns it on decoding (autorotate): the reference for which way is up.
        let reference = media.path("reference.mp4")
        try media.ffmpeg(["-i", input, "-vf", "scale=180:320", "-c:v", "libx264", "-preset", "ultrafast", reference])
        let (_, out) = try render(reencode(input, width: 180, height: 320) { $0.mp4.fit = .stretch })
        let pic = try picture(out, at: 0.5, width: 180, height: 320)
        let ref = try picture(reference, at: 0.5, width: 180, height: 320)
        let top = pixel(ref, 90, 60, width: 180), bottom = pixel(ref, 90, 260, width: 180)
        XCTAssertNotEqual(top.2 > 128, bottom.2 > 128, "the reference is turned: one colour on top, the other below")
        for x in [30, 150] {
            assertColor(pixel(pic, x, 60, width: 180), top, "top after the turn, x \(x)")
            assertColor(pixel(pic, x, 260, width: 180), bottom, "bottom after the turn, x \(x)")
        }
    }

    func testAVideoCutShortAfterItsIndexIsRefusedAsTruncated() throws {
        // Fast start puts the index first, so a cut file opens and claims 3 s; its pictures stop about half way.
        let input = try clip(seconds: 3, audio: false, extra: ["-movflags", "+faststart"])
        let size = try FileManager.default.attributesOfItem(atPath: input)[.size] as! Int
        let cut = try media.truncatedCopy(of: input, to: "half.mp4", bytes: size / 2)
        guard let e = renderError(reencode(cut, width: 320, height: 180)) else { return }
        XCTAssertEqual(e.code, "invalid-media", "\(e)")
        XCTAssertTrue(e.description.contains("truncated or damaged") && e.description.contains("half.mp4"), e.description)
    }

    func testReencodeOfADamagedVideoFailsClearly() throws {
        let input = try clip()
        let size = try FileManager.default.attributesOfItem(atPath: input)[.size] as! Int
        let cut = try media.truncatedCopy(of: input, to: "cut.mp4", bytes: size / 3)
        guard let e = renderError(reencode(cut, width: 320, height: 180)) else { return }
        XCTAssertEqual(e.code, "invalid-media", "\(e)")
    }
}
