import Foundation
import XCTest

/// `submit`'s estimatedSeconds and `status`'s ETA: the documented default
/// without history, and what is learned from the analytics log.
final class EstimateTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try h.makeTone("talk.wav", seconds: 10)
    }

    override func tearDown() { h?.stopAll() }

    private func submitJSON(_ job: String) throws -> [String: Any] {
        let r = try h.run(["submit", "--json", "-"], stdin: job)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try h.json(r.stdout)
    }

    /// Log lines of completed mp3 renders: (media seconds, render seconds).
    private func history(_ renders: [(Double, Double)]) throws {
        var text = ""
        for (i, (media, secs)) in renders.enumerated() {
            text += #"{"time":"2026-11-30T10:00:0\#(i).000Z","id":"1900000000000-00000\#(i)","attempt":1,"event":"finished","kind":"mp3","outcome":"completed","user":null,"mediaSeconds":\#(media),"renderSeconds":\#(secs),"error":null,"class":"audio"}"# + "\n"
        }
        // Not learned from: a failed render, another kind, and a torn last line.
        text += #"{"time":"2026-11-30T10:01:00.000Z","id":"1900000000000-00000f","attempt":1,"event":"finished","kind":"mp3","outcome":"failed","user":null,"renderSeconds":99,"error":"io","class":"audio"}"# + "\n"
        text += #"{"time":"2026-11-30T10:01:01.000Z","id":"1900000000000-00000e","attempt":1,"event":"finished","kind":"mp4","outcome":"completed","user":null,"mediaSeconds":10,"renderSeconds":99,"error":null,"class":"slides-fhd"}"# + "\n"
        text += #"{"time":"2026-11-30T10:01:02.000Z","id":"1900000000000-00000d","attempt":1,"event":"fini"#
        try text.write(toFile: h.spool + "/analytics.jsonl", atomically: true, encoding: .utf8)
    }

    func testDefaultEstimateWithoutHistory() throws {
        let j = try submitJSON(#"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        // 0.15 s + 0.011 s per second of media (docs/job-spec.md), 10 s read from the WAV header.
        XCTAssertEqual(j["estimatedSeconds"] as? Double, 0.3)
        XCTAssertEqual(j["estimateBasis"] as? Int, 0)
        let stored = try h.json(try String(contentsOfFile: h.spool + "/queue/\(j["id"] as! String).json", encoding: .utf8))
        XCTAssertEqual(try XCTUnwrap(stored["expectedMediaSeconds"] as? Double), 10, accuracy: 0.01)

        let trimmed = try submitJSON(#"{"kind":"mp3","input":"talk.wav","output":"out/b.mp3","start":2,"duration":100}"#)
        XCTAssertEqual(trimmed["estimatedSeconds"] as? Double, 0.2, "8 s are left after the trim")

        let human = try h.run(["submit", "-"], stdin: #"{"kind":"mp3","input":"talk.wav","output":"out/c.mp3"}"#)
        XCTAssertEqual(human.lines.count, 1, "standard output has only the id")
        XCTAssertTrue(human.stderr.contains("1 job queued; estimated 0.3 s of rendering (default estimate, no history yet)\n"), human.stderr)
    }

    func testEstimateLearnedFromTheLogAndETAInStatus() throws {
        // A fixed 1 s per job plus 0.1 s per media second fits these exactly.
        try history([(10, 2), (20, 3), (40, 5)])
        let a = try submitJSON(#"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        XCTAssertEqual(a["estimatedSeconds"] as? Double, 2.0)
        XCTAssertEqual(a["estimateBasis"] as? Int, 3)
        let b = try submitJSON(#"{"kind":"mp3","input":"talk.wav","output":"out/b.mp3","duration":5}"#)
        XCTAssertEqual(b["estimatedSeconds"] as? Double, 1.5)
        let c = try submitJSON(#"{"kind":"mp3","input":"talk.wav","output":"out/c.mp3"}"#)

        let s = try h.json(try h.run(["status", "--json", c["id"] as! String]).stdout)
        XCTAssertEqual(s["position"] as? Int, 3)
        XCTAssertEqual(s["estimatedSeconds"] as? Double, 2.0)
        XCTAssertEqual(try XCTUnwrap(s["etaSeconds"] as? Double), 5.5, accuracy: 0.01, "2 + 1.5 ahead, then its own 2")
        XCTAssertNotNil(s["eta"] as? String)
        let line = try h.run(["status", c["id"] as! String]).stdout
        XCTAssertTrue(line.contains("position 3  ETA 5.5 s"), line)

        // A running job counts as the time it has left: half done after 4 s, 4 s to go.
        let aid = a["id"] as! String
        try FileManager.default.moveItem(atPath: h.spool + "/queue/\(aid).json", toPath: h.spool + "/running/\(aid).json")
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        try #"{"id":"\#(aid)","kind":"mp3","state":"processing","progress":0.5,"attempts":1,"submittedAt":"\#(f.string(from: Date()))","startedAt":"\#(f.string(from: Date().addingTimeInterval(-4)))","input":"x","output":{"path":"y"}}"#
            .write(toFile: h.spool + "/status/\(aid).json", atomically: true, encoding: .utf8)
        let s2 = try h.json(try h.run(["status", "--json", c["id"] as! String]).stdout)
        XCTAssertEqual(try XCTUnwrap(s2["etaSeconds"] as? Double), 7.5, accuracy: 0.6, "3.5 s ahead in the queue, about 4 s left of the render in hand")
        let running = try h.json(try h.run(["status", "--json", aid]).stdout)
        XCTAssertEqual(try XCTUnwrap(running["etaSeconds"] as? Double), 4, accuracy: 0.6)
    }
}
