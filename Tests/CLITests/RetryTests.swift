import Foundation
import XCTest

/// Transient failures are retried with a doubling delay; permanent ones are not.
/// A stand-in renderer (EXPORTCTL_RENDERER) fails on cue, so no FFmpeg is needed.
final class RetryTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try #"{"retryBackoffSeconds": 0.4, "maxAttempts": 3}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        try "not really audio".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
    }

    override func tearDown() { h?.stopAll() }

    /// A renderer that fails transiently until the attempt number reaches `succeedOn`.
    private func fakeRenderer(succeedOn: Int, failure: String) throws {
        let script = """
        #!/bin/sh
        n=$(cat "\(h.path("attempts"))" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\(h.path("attempts"))"
        date +%s.%N >> "\(h.path("starts"))"
        if [ $n -lt \(succeedOn) ]; then \(failure); fi
        printf 'ID3fake' > "$2"
        echo '{"event":"progress","progress":0.5,"stage":"encoding"}'
        echo '{"event":"result","duration":1.0,"bytes":7,"mediaSeconds":1.0,"codec":"mp3"}'
        """
        try script.write(toFile: h.path("fake-render"), atomically: true, encoding: .utf8)
        chmod(h.path("fake-render"), 0o755)
        h.extraEnvironment["EXPORTCTL_RENDERER"] = h.path("fake-render")
    }

    private func submit() throws -> String {
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/o.mp3"}"#)
        let r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testTransientFailureTwiceThenSuccessWithDoublingDelay() throws {
        try fakeRenderer(succeedOn: 3, failure: #"echo '{"event":"error","code":"io","message":"write: No space left on device","transient":true}'; exit 75"#)
        let id = try submit()
        _ = try h.startDaemon()
        let waiting = try h.waitFor(id) { $0["nextAttemptAt"] != nil && $0["state"] as? String == "deferred" }
        XCTAssertEqual((waiting["error"] as? [String: Any])?["code"] as? String, "io", "the last attempt's error is shown while waiting")
        let w = try h.run(["wait", "--timeout", "30", id])
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(s["attempts"] as? Int, 3)
        XCTAssertNil(s["error"], "a completed job carries no error")
        let starts = try String(contentsOfFile: h.path("starts"), encoding: .utf8).split(separator: "\n").compactMap { Double($0) }
        XCTAssertEqual(starts.count, 3)
        // With jitter a delay is between half the nominal one and all of it: 0.2–0.4 s, then 0.4–0.8 s.
        XCTAssertGreaterThanOrEqual(starts[1] - starts[0], 0.2, "first retry waits at least half retryBackoffSeconds")
        XCTAssertGreaterThanOrEqual(starts[2] - starts[1], 0.4, "the delay doubles")
        XCTAssertEqual(try String(contentsOfFile: h.path("out/o.mp3"), encoding: .utf8), "ID3fake")
    }

    func testGivesUpAfterMaxAttempts() throws {
        try fakeRenderer(succeedOn: 99, failure: "kill -KILL $$")
        let id = try submit()
        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "30", id])
        XCTAssertEqual(w.status, 1)
        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(s["attempts"] as? Int, 3)
        XCTAssertEqual((s["error"] as? [String: Any])?["code"] as? String, "render-crashed")
        XCTAssertTrue(((s["error"] as? [String: Any])?["message"] as? String ?? "").contains("SIGKILL"))
        XCTAssertEqual(h.files(in: "out"), [])
    }

    func testCrashFromWithinIsNotRetried() throws {
        try fakeRenderer(succeedOn: 99, failure: "kill -ABRT $$")
        let id = try submit()
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "30", id]).status, 1)
        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(s["attempts"] as? Int, 1, "SIGABRT will happen again: no retry")
        XCTAssertTrue(((s["error"] as? [String: Any])?["message"] as? String ?? "").contains("probably corrupt"))
    }
}
