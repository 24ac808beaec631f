import Foundation
import XCTest

/// Both mp4 job shapes through the built binaries: submit → daemon → wait,
/// and `exportctl render` without a spool; the output checked with ffprobe.
final class MP4EndToEndTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() { h?.stopAll() }

    /// ffprobe's `stream=codec_name,width,height` and the format duration.
    func layout(_ file: String) throws -> (codecs: [String], width: Int, height: Int, duration: Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        p.arguments = ["-v", "error", "-show_entries", "stream=codec_name,width,height:format=duration", "-of", "default=nw=1", file]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var codecs: [String] = [], w = 0, hgt = 0, d = 0.0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "codec_name": codecs.append(kv[1])
            case "width": w = Int(kv[1]) ?? 0
            case "height": hgt = Int(kv[1]) ?? 0
            case "duration": d = Double(kv[1]) ?? 0
            default: break
            }
        }
        return (codecs, w, hgt, d)
    }

    func testASlideshowJobGoesThroughTheDaemon() throws {
        try h.makeTone("talk.wav", seconds: 2)
        try h.makeMedia("cover.png", ["-f", "lavfi", "-i", "color=orange:s=400x300", "-frames:v", "1"])
        try "1\n00:00:00,200 --> 00:00:01,500\nHello from the daemon\n".write(toFile: h.path("talk.srt"), atomically: true, encoding: .utf8)
        try h.writeJob("show.json", #"{"kind":"mp4","output":"out/show.mp4","width":360,"height":640,"fps":25,"audio":"talk.wav","slides":[{"image":"cover.png","fit":"cover","text":"Episode 1"}],"captions":"talk.srt","preset":"ultrafast","user":"u1"}"#)
        let s = try h.run(["submit", "show.json"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let id = s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "120", id])
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        let l = try layout(h.path("out/show.mp4"))
        XCTAssertEqual(l.codecs, ["h264", "aac"])
        XCTAssertEqual(l.width, 360)
        XCTAssertEqual(l.height, 640)
        XCTAssertEqual(l.duration, 2, accuracy: 0.05)
        let status = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(status["state"] as? String, "completed")
        let out = try XCTUnwrap(status["output"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(out["duration"] as? Double), 2, accuracy: 0.05)
        XCTAssertEqual(h.files(in: "out").filter { $0.hasPrefix(".") }, [], "no temp output left")
        let stats = try h.json(try h.run(["stats", "--json"]).stdout)
        XCTAssertEqual(((stats["byKind"] as? [String: Any])?["mp4"] as? [String: Any])?["completed"] as? Int, 1)
    }

    func testAReencodeRendersInTheForeground() throws {
        try h.makeMedia("clip.mp4", ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=2", "-f", "lavfi", "-i", "sine=d=2",
                                     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        try h.writeJob("clip.json", #"{"kind":"mp4","input":"clip.mp4","output":"out/clip.mp4","width":320,"height":320,"fit":"contain","start":0.5,"duration":1,"preset":"ultrafast"}"#)
        let r = try h.run(["render", "--json", "clip.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try h.json(r.stdout)
        XCTAssertEqual(j["codec"] as? String, "h264")
        let l = try layout(h.path("out/clip.mp4"))
        XCTAssertEqual(l.codecs, ["h264", "aac"])
        XCTAssertEqual(l.width, 320)
        XCTAssertEqual(l.duration, 1, accuracy: 0.05)
        // Again without overwrite: refused, the first output kept.
        let again = try h.run(["render", "clip.json"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("exists"), again.stderr)
    }

    func testAReencodeGoesThroughTheDaemonAndASlideshowRendersInTheForeground() throws {
        try h.makeMedia("clip.mp4", ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=2", "-f", "lavfi", "-i", "sine=d=2",
                                     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        try h.writeJob("clip.json", #"{"kind":"mp4","input":"clip.mp4","output":"out/clip.mp4","size":"480p","preset":"ultrafast","captions":[{"start":0.2,"end":1.5,"text":"Burned in"}]}"#)
        let s = try h.run(["submit", "clip.json"])
        XCTAssertEqual(s.status, 0, s.stderr)
        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "120", s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        let clip = try layout(h.path("out/clip.mp4"))
        XCTAssertEqual(clip.codecs, ["h264", "aac"])
        XCTAssertEqual([clip.width, clip.height], [854, 480])
        XCTAssertEqual(clip.duration, 2, accuracy: 0.05)

        try h.makeTone("talk.wav", seconds: 1.5)
        try h.writeJob("show.json", ##"{"kind":"mp4","output":"out/show.mp4","size":"square","audio":"talk.wav","slides":[{"background":"#204080","text":"Hello"}],"preset":"ultrafast"}"##)
        let r = try h.run(["render", "show.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("1.5 s"), r.stdout)
        let show = try layout(h.path("out/show.mp4"))
        XCTAssertEqual(show.codecs, ["h264", "aac"])
        XCTAssertEqual([show.width, show.height], [1080, 1080])
        XCTAssertEqual(show.duration, 1.5, accuracy: 0.05)
    }
}
