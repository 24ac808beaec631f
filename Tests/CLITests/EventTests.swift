import Foundation
import XCTest

/// `wait --follow` and `exportctl events`: NDJSON job events from SPOOL/events.jsonl.
final class EventTests: XCTestCase {
    var h: CLIHarness!
    var background: [Process] = []

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.installStepRenderer(steps: 4, stepSeconds: 0.3)
    }

    override func tearDown() {
        for p in background where p.isRunning { p.terminate(); p.waitUntilExit() }
        h?.stopAll()
    }

    func testWaitFollowStreamsEachJobUntilAllAreFinishedAndExitsLikeWait() throws {
        let ok = try h.submitNotifyJob(output: "ok.mp3"), bad = try h.submitNotifyJob(output: "fail.mp3")
        // Following before the daemon starts, so the stream begins with both jobs queued.
        let out = h.path("follow.out"), err = h.path("follow.err")
        let follow = try h.startBackground(["wait", "--follow", "--timeout", "30", ok, bad], stdoutFile: out, stderrFile: err)
        background.append(follow)
        usleep(200_000)
        _ = try h.startDaemon()
        follow.waitUntilExit()
        XCTAssertEqual(follow.terminationStatus, 1, "one failed, as plain wait says")
        let events = try h.jsonLines(out)
        for e in events {
            for key in ["time", "id", "state", "progress", "attempts"] { XCTAssertNotNil(e[key], "\(key) missing in \(e)") }
        }
        let mine = events.filter { $0["id"] as? String == ok }
        XCTAssertEqual(mine.first?["state"] as? String, "queued", "first the current state")
        XCTAssertEqual(mine.last?["state"] as? String, "completed")
        XCTAssertEqual(mine.last?["progress"] as? Double, 1)
        let steps = mine.filter { $0["state"] as? String == "processing" }.compactMap { $0["progress"] as? Double }
        XCTAssertGreaterThanOrEqual(steps.count, 3, "progress steps of a 1.2 s render: \(mine)")
        XCTAssertEqual(steps, steps.sorted(), "progress only grows")
        XCTAssertTrue(mine.contains { $0["stage"] as? String == "encoding" })
        let other = events.filter { $0["id"] as? String == bad }
        XCTAssertEqual(other.last?["state"] as? String, "failed")
        XCTAssertEqual((other.last?["error"] as? [String: Any])?["code"] as? String, "invalid-media")
        XCTAssertEqual(events.filter { ["completed", "failed"].contains($0["state"] as? String) }.count, 2, "one final line per job")
        XCTAssertEqual(try String(contentsOfFile: err, encoding: .utf8), "")

        // Already finished: one line each, at once.
        let again = try h.run(["wait", "--follow", ok])
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.lines.count, 1)
        XCTAssertEqual(try h.json(again.lines[0])["state"] as? String, "completed")
    }

    func testWaitFollowTimesOutWith124() throws {
        let id = try h.submitNotifyJob(output: "t.mp3")
        let r = try h.run(["wait", "--follow", "--timeout", "0.3", id])
        XCTAssertEqual(r.status, 124)
        XCTAssertEqual(r.lines.count, 1)
        XCTAssertEqual(try h.json(r.lines[0])["state"] as? String, "queued")
        XCTAssertTrue(r.stderr.contains("timed out"), r.stderr)
    }

    func testEventsTailsJobsOfSeveralSubmitsAndSinceReplaysThem() throws {
        let missing = try h.run(["events"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("no spool at \(h.spool)"), missing.stderr)
        _ = try h.startDaemon()
        h.waitUntil("the daemon to create the spool") { FileManager.default.fileExists(atPath: h.spool + "/queue") }
        let out = h.path("events.out")
        let tail = try h.startBackground(["events"], stdoutFile: out)
        background.append(tail)
        usleep(300_000)
        let a = try h.submitNotifyJob(output: "a.mp3")
        let b = try h.submitNotifyJob(output: "b.mp3")
        XCTAssertEqual(try h.run(["wait", "--timeout", "30", a, b]).status, 0)
        try h.waitUntil("both completions in the stream") {
            try h.jsonLines(out).filter { $0["state"] as? String == "completed" }.count == 2
        }
        tail.terminate()
        tail.waitUntilExit()
        let lines = try h.jsonLines(out)
        for id in [a, b] {
            let states = lines.filter { $0["id"] as? String == id }.compactMap { $0["state"] as? String }
            XCTAssertEqual(states.first, "queued", "\(id): \(states)")
            XCTAssertTrue(states.contains("processing"))
            XCTAssertEqual(states.last, "completed")
        }

        let replay = h.path("since.out")
        let since = try h.startBackground(["events", "--since", "10m"], stdoutFile: replay)
        background.append(since)
        try h.waitUntil("the replay") { try h.jsonLines(replay).filter { $0["state"] as? String == "completed" }.count == 2 }
        since.terminate()
        XCTAssertEqual(try h.jsonLines(replay).count, lines.count, "the same events, from the log")

        let bad = try h.run(["events", "--since", "yesterday"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--since 'yesterday' is neither"), bad.stderr)
    }
}
