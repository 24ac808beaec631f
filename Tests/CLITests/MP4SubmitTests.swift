import Foundation
import XCTest

/// `submit` of mp4 jobs through the built binaries: the checks that need the
/// media (run by `exportctl-render --check`) and their messages and exit codes.
final class MP4SubmitTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.makeTone("talk.wav", seconds: 4)
        try h.makeMedia("cover.png", ["-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1"])
        try h.makeMedia("cover.jpg", ["-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1"])
        try h.makeMedia("clip.mp4", ["-f", "lavfi", "-i", "testsrc2=s=320x240:d=3", "-pix_fmt", "yuv420p"])
        try "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:03,900\nthere\n".write(toFile: h.path("talk.srt"), atomically: true, encoding: .utf8)
        try "1\n00:00:00,500 --> 00:00:05,000\ntoo long\n".write(toFile: h.path("long.srt"), atomically: true, encoding: .utf8)
    }

    override func tearDown() { h?.stopAll() }

    /// A slideshow job with `extra` members (or replacing defaults by name).
    private func slideshow(_ members: [String: String]) -> String {
        var m: [String: String] = [
            "kind": #""mp4""#, "output": #""out/a.mp4""#, "width": "640", "height": "360", "audio": #""talk.wav""#,
            "slides": #"[{"image":"cover.png"},{"image":"cover.jpg","fit":"contain"}]"#, "captions": #""talk.srt""#,
        ]
        for (k, v) in members { m[k] = v }
        return "{" + m.sorted { $0.key < $1.key }.filter { $0.value != "" }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }

    private func submit(_ json: String) throws -> CLIHarness.Result {
        _ = try h.writeJob("job.json", json)
        return try h.run(["submit", "job.json"])
    }

    func testValidSlideshowAndReencodeAreQueuedWithCaptionsInline() throws {
        var r = try submit(slideshow([:]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = try h.json(try String(contentsOfFile: h.spool + "/queue/\(id).json", encoding: .utf8))
        let cues = try XCTUnwrap(stored["captions"] as? [[String: Any]])
        XCTAssertEqual(cues.count, 2)
        XCTAssertEqual(cues[0]["text"] as? String, "Hello")
        XCTAssertEqual(stored["audio"] as? String, h.path("talk.wav"))

        r = try submit(#"{"kind":"mp4","input":"clip.mp4","output":"out/b.mp4","size":"720p","start":1,"duration":1.5}"#)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testEachMediaProblemIsReportedWithItsField() throws {
        let cases: [(String, Int32, String)] = [
            (slideshow(["captions": #""long.srt""#]), 65,
             #"job.json: "captions": a caption ends at 5 s, after the end of the audio (4 s)"#),
            (slideshow(["start": "1", "duration": "2"]), 65,
             #"job.json: "captions": a caption ends at 3.9 s, after the end of the audio (2 s after the trim)"#),
            (slideshow(["start": "9"]), 65, #"job.json: "start": is 9 s but 'talk.wav' is only 4 s long"#),
            (slideshow(["audio": #""cover.png""#]), 65, #"job.json: "audio": '\#(h.path("cover.png"))' is an image; give an audio file"#),
            (slideshow(["slides": #"[{"image":"talk.wav"}]"#]), 65,
             #"job.json: "slides[0].image": '\#(h.path("talk.wav"))' is not a still image (found wav); use PNG, JPEG, WebP, BMP, TIFF or GIF"#),
            (slideshow(["slides": ##"[{"image":"cover.png","duration":3},{"image":"cover.jpg","duration":2},{"background":"#000000","duration":1}]"##]), 65,
             #"job.json: "slides[2]": would start at 5 s, when the audio (4 s) has ended; shorten the slides before it or remove it"#),
            (slideshow(["slides": #"[{"image":"cover.png","duration":4},{"image":"cover.jpg"}]"#]), 65,
             #"job.json: "slides[1]": has no duration and no time is left for it: the slides with durations fill the 4 s of audio"#),
            (#"{"kind":"mp4","input":"talk.wav","output":"out/b.mp4","size":"720p"}"#, 65,
             #"job.json: "input": '\#(h.path("talk.wav"))' has no video stream; to put pictures over audio, give "audio" and "slides""#),
            (slideshow(["width": "641"]), 65, #"job.json: "width": must be even for H.264 with 4:2:0 chroma (got 641; use 642 or 640)"#),
            (slideshow(["slides": #"[{"image":"cover.png","fit":"fill"}]"#]), 65,
             #"job.json: "slides[0].fit": unknown fit mode "fill"; one of "cover", "contain", "stretch""#),
            (slideshow(["slides": #"[{"image":"nope.png"}]"#]), 66, #"job.json: "slides[0].image": no such file '\#(h.path("nope.png"))'"#),
            (slideshow(["captions": #""nope.srt""#]), 66, #"job.json: "captions": cannot read 'nope.srt': no such file"#),
        ]
        for (json, status, message) in cases {
            let r = try submit(json)
            XCTAssertEqual(r.status, status, json + "\n" + r.stderr)
            XCTAssertEqual(r.stderr, "exportctl: \(message)\n", json)
            // `render` gives the same answer: its render process checks before it renders.
            let f = try h.run(["render", "job.json"])
            XCTAssertEqual(f.status, status, "render: " + json + "\n" + f.stderr)
            XCTAssertEqual(f.stderr, "exportctl: \(message)\n", "render: " + json)
            XCTAssertEqual(f.stdout, "")
            XCTAssertEqual(h.files(in: "out"), [], "render: nothing written for " + json)
        }
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: h.spool + "/queue")) ?? []).filter { $0.hasSuffix(".json") }, [],
                       "nothing was queued")
    }
}
