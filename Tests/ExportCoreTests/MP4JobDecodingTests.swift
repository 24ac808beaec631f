@testable import ExportCore
import Foundation
import XCTest

/// mp4 job files: what is accepted, what is stored, and every refusal's message.
final class MP4JobDecodingTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "exportctl-mp4-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        for f in ["talk.wav", "cover.jpg", "chart.png", "clip.mov"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/" + f))
        }
        try Data("1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i> there\n\n2\n00:00:03,000 --> 00:00:04,000\nSecond\nline\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/talk.srt"))
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func decode(_ text: String, mode: JobDecoder.Mode = .submitted) throws(JobError) -> Job {
        try JobDecoder(mode: mode, baseDirectory: dir, checkFiles: mode == .submitted).decode(Array(text.utf8), name: "job.json")
    }

    private func message(_ text: String, _ file: StaticString = #filePath, _ line: UInt = #line) -> String {
        do {
            _ = try decode(text)
            XCTFail("accepted: \(text)", file: file, line: line)
            return ""
        } catch {
            return error.description
        }
    }

    private func slideshow(_ extra: String) -> String {
        #"{"kind":"mp4","output":"out/ep1.mp4","width":1080,"height":1920,"audio":"talk.wav","slides":[{"image":"cover.jpg"}]"#
            + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    func testTheIssueSlideshowDecodesAndRoundTripsThroughTheStoredForm() throws {
        let text = #"""
        { "kind": "mp4", "output": "out/ep1.mp4", "width": 1080, "height": 1920, "fps": 30, "audio": "talk.wav",
          "slides": [ { "image": "cover.jpg", "duration": 5, "fit": "cover" },
                      { "image": "chart.png", "fit": "contain", "background": "#101820", "text": "Q3 in one chart" } ],
          "captions": "talk.srt", "crf": 23, "preset": "veryfast", "transition": {"type": "fade", "duration": 0.5},
          "style": {"font": "DejaVu Sans", "fontSize": 60, "box": true}, "captionStyle": {"position": "top"} }
        """#
        let job = try decode(text)
        XCTAssertEqual(job.input, "")
        XCTAssertEqual(job.mp4.width, 1080)
        XCTAssertEqual(job.mp4.height, 1920)
        XCTAssertEqual(job.mp4.fps, Fraction(30, 1))
        XCTAssertEqual(job.mp4.audio, dir + "/talk.wav")
        XCTAssertEqual(job.mp4.slides.count, 2)
        XCTAssertEqual(job.mp4.slides[0], Slide(image: dir + "/cover.jpg", duration: 5, fit: .cover))
        XCTAssertEqual(job.mp4.slides[1].background, Color(red: 0x10, green: 0x18, blue: 0x20))
        XCTAssertEqual(job.mp4.slides[1].text, "Q3 in one chart")
        XCTAssertEqual(job.mp4.captions, [CaptionCue(start: 1, end: 2.5, text: "Hello there"), CaptionCue(start: 3, end: 4, text: "Second\nline")])
        XCTAssertEqual(job.mp4.transition, Transition(kind: .fade, duration: 0.5))
        XCTAssertEqual(job.mp4.resolvedCaptionStyle.position, .top)
        XCTAssertEqual(job.mp4.resolvedCaptionStyle.font, "DejaVu Sans")
        XCTAssertEqual(job.mp4.resolvedCaptionStyle.box, true)

        // The stored form holds absolute paths and inline captions, and decodes to the same job.
        var stored = job
        stored.id = JobID("0123456789abc-abcdef")
        let bytes = Array(stored.storedJSON().jsonText().utf8)
        let again = try JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false).decode(bytes, name: "stored.json")
        XCTAssertEqual(again.mp4, job.mp4)
        XCTAssertEqual(again.output, job.output)
    }

    func testReencodeJobAndSizePresetAndFrameRates() throws {
        let job = try decode(#"{"kind":"mp4","input":"clip.mov","output":"out/clip.mp4","size":"720p","fit":"contain","start":3,"duration":20,"fps":29.97}"#)
        XCTAssertEqual(job.input, dir + "/clip.mov")
        XCTAssertEqual(job.mp4.width, 1280)
        XCTAssertEqual(job.mp4.height, 720)
        XCTAssertEqual(job.mp4.fps, Fraction(30000, 1001))
        XCTAssertEqual(job.start, 3)
        XCTAssertEqual(JobDecoder.frameRate(12.5), Fraction(25, 2))
        XCTAssertEqual(JobDecoder.frameRate(23.976), Fraction(24000, 1001))
    }

    func testEachValidationErrorNamesTheField() {
        XCTAssertEqual(message(slideshow("").replacingOccurrences(of: "1080", with: "1081")),
                       #"job.json: "width": must be even for H.264 with 4:2:0 chroma (got 1081; use 1082 or 1080)"#)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","width":1080,"height":1080,"slides":[{"image":"cover.jpg","fit":"fill","duration":2}]}"#),
                       #"job.json: "slides[0].fit": unknown fit mode "fill"; one of "cover", "contain", "stretch""#)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","width":1080,"height":1080,"slides":[{"image":"nope.jpg","duration":2}]}"#),
                       #"job.json: "slides[0].image": no such file '\#(dir!)/nope.jpg'"#)
        XCTAssertEqual(message(slideshow(#""captions":"missing.srt""#)), #"job.json: "captions": cannot read 'missing.srt': no such file"#)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","width":1080,"height":1080}"#),
                       #"job.json: "input": missing; give "input" (a video to re-encode) or "slides" (images over an "audio" track)"#)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","input":"clip.mov"}"#),
                       #"job.json: "width": missing; give "width" and "height" in pixels, or a "size" such as "story" (1080x1920)"#)
        XCTAssertEqual(message(slideshow(#""crf":60"#)), #"job.json: "crf": must be a whole number from 0 (lossless) to 51 (worst); 18–28 is usual (got 60)"#)
        XCTAssertEqual(message(slideshow(#""preset":"quick""#)),
                       #"job.json: "preset": expected one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow (got "quick")"#)
        XCTAssertEqual(message(slideshow(##""style":{"colour":"#fff"}"##)), ##"job.json: "style.colour": unknown style field; did you mean "color"?"##)
        XCTAssertEqual(message(slideshow(##""background":"red""##)),
                       ##"job.json: "background": expected a colour like "#101820" or "#00000080" (with alpha), got "red""##)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","width":1080,"height":1080,"slides":[{"image":"cover.jpg","duration":2},{"image":"chart.png"}]}"#),
                       #"job.json: "slides[1].duration": missing; without "audio" every slide needs a duration in seconds"#)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","width":1080,"height":1080,"slides":[{"image":"cover.jpg","duration":2}],"captions":[{"start":1,"end":3,"text":"x"}]}"#),
                       #"job.json: "captions": a caption ends at 3 s, after the end of the video (2 s, the sum of the slide durations)"#)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","input":"clip.mov","size":"720p","slides":[{"image":"cover.jpg"}]}"#),
                       #"job.json: "slides": give either "input" (a video to re-encode) or "slides", not both"#)
        XCTAssertEqual(message(#"{"kind":"mp4","output":"out/a.mp4","input":"clip.mov","size":"720p","audio":"talk.wav"}"#),
                       #"job.json: "audio": a re-encode keeps the audio of its "input"; "audio" goes with "slides""#)
        XCTAssertEqual(message(slideshow(#""captions":[{"start":2,"end":3,"text":"b"},{"start":1,"end":2,"text":"a"}]"#)),
                       #"job.json: "captions[1]": starts at 1 s, before the cue before it (2 s); captions must be in time order"#)
        XCTAssertEqual(message(slideshow(#""captions":[{"start":2,"end":1,"text":"b"}]"#)), #"job.json: "captions[0]": ends (1 s) before it starts (2 s)"#)
        XCTAssertEqual(message(slideshow(#""captions":[{"start":1,"end":2,"text":"a b","words":[{"start":1.5,"end":1.8,"text":"a"},{"start":1.2,"end":1.4,"text":"b"}]}]"#)),
                       #"job.json: "captions[0].words[1]": word timings must be in order and within the cue (1–2 s)"#)
        XCTAssertEqual(message(slideshow(#""style":{"font":"DejaVu Sans","fontFile":"x.ttf"}"#)),
                       #"job.json: "style.fontFile": give either "font" (a family name) or "fontFile", not both"#)
        XCTAssertEqual(message(slideshow(#""slides":[]"#).replacingOccurrences(of: #","slides":[{"image":"cover.jpg"}]"#, with: "")),
                       #"job.json: "slides": expected a non-empty array of slides"#)
        XCTAssertEqual(message(slideshow(#""transition":{"type":"wipe"}"#)), #"job.json: "transition.type": expected one of "fade""#)
    }

    func testCaptionFileErrorsNameTheFileAndLine() throws {
        try Data("1\n00:00:01,000 -> 00:00:02,000\nHi\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.srt"))
        XCTAssertEqual(message(slideshow(#""captions":"bad.srt""#)),
                       #"job.json: "captions": bad.srt:1: expected a cue number or a timing line like '00:00:01,000 --> 00:00:04,000', got '1'"#)
        try Data("1\n00:00:05,000 --> 00:00:04,000\nHi\n".utf8).write(to: URL(fileURLWithPath: dir + "/back.srt"))
        XCTAssertEqual(message(slideshow(#""captions":"back.srt""#)), #"job.json: "captions": bad.srt: cue 1: ends (4 s) before it starts (5 s)"#.replacingOccurrences(of: "bad.srt", with: "back.srt"))
    }
}

/// SubRip and WebVTT parsing.
final class CaptionFileTests: XCTestCase {
    private func parse(_ s: String) throws -> [CaptionCue] { try CaptionFile.parse(Array(s.utf8)) }

    func testSubRipWithCRLFBOMAndMarkup() throws {
        let cues = try parse("\u{feff}1\r\n00:00:01,500 --> 00:00:03,000\r\n{\\an8}<b>Bold</b> move\r\n\r\n2\r\n01:02:03,004 --> 01:02:04,000\r\nTwo\r\nlines\r\n")
        XCTAssertEqual(cues, [CaptionCue(start: 1.5, end: 3, text: "Bold move"), CaptionCue(start: 3723.004, end: 3724, text: "Two\nlines")])
    }

    func testWebVTTWithHeaderNotesIdentifiersSettingsAndEntities() throws {
        let cues = try parse("WEBVTT - a talk\nKind: captions\n\nNOTE this is\na comment\n\nintro\n00:01.000 --> 00:02.000 align:start line:0\n<v Ana>Tom &amp; Jerry &lt;3</v>\n\n00:00:03.250 --> 00:00:04.000\n<c.yellow>مرحبا</c> <00:00:03.500>world\n")
        XCTAssertEqual(cues, [CaptionCue(start: 1, end: 2, text: "Tom & Jerry <3"), CaptionCue(start: 3.25, end: 4, text: "مرحبا world")])
    }

    func testBadTimestampsAreReportedWithTheirLine() {
        XCTAssertThrowsError(try parse("1\n00:00:01,000 --> 00:00:61,000\nx\n")) { e in
            XCTAssertEqual(e as? CaptionFile.ParseError, CaptionFile.ParseError(line: 2, message: "bad end time '00:00:61,000'; write HH:MM:SS,mmm"))
        }
        XCTAssertThrowsError(try parse("WEBVTT\n\nhello\nworld\n")) { e in
            XCTAssertEqual((e as? CaptionFile.ParseError)?.line, 3)
        }
    }
}
