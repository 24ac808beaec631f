import Foundation
import XCTest

/// submit → daemon → wait → decode the output, and the daemon's behaviour
/// under kill -9, SIGTERM, cancel, bad jobs and a second daemon.
final class DaemonEndToEndTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() { h?.stopAll() }

    private func submit(_ name: String, _ json: String) throws -> String {
        try h.writeJob(name, json)
        let r = try h.run(["submit", name])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testSubmitDaemonWaitProducesAVerifiedMP3() throws {
        try h.makeTone("talk.wav", seconds: 3)
        let id = try submit("job.json", #"{"kind":"mp3","input":"talk.wav","output":"out/talk.mp3","bitrate":128,"metadata":{"title":"Episode 1","artist":"Me"},"user":"user_123"}"#)
        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "60", id])
        XCTAssertEqual(w.status, 0, w.stderr + w.stdout)
        XCTAssertTrue(w.stdout.contains("completed"), w.stdout)

        let p = try h.probe(h.path("out/talk.mp3"))
        XCTAssertEqual(p.codec, "mp3")
        XCTAssertEqual(p.rate, 44100)
        XCTAssertEqual(p.channels, 2)
        XCTAssertEqual(p.duration, 3.0, accuracy: 1152.0 / 44100, "duration within one mp3 frame of the input")

        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(s["state"] as? String, "completed")
        XCTAssertEqual(s["progress"] as? Double, 1)
        XCTAssertEqual(s["attempts"] as? Int, 1)
        let out = try XCTUnwrap(s["output"] as? [String: Any])
        let size = try FileManager.default.attributesOfItem(atPath: h.path("out/talk.mp3"))[.size] as? Int
        XCTAssertEqual(out["bytes"] as? Int, size)
        XCTAssertEqual(try XCTUnwrap(out["duration"] as? Double), 3.0, accuracy: 0.05)
        for key in ["submittedAt", "startedAt", "finishedAt"] { XCTAssertNotNil(s[key] as? String, key) }
        XCTAssertEqual(h.files(in: "out").filter { $0.hasPrefix(".") }, [], "no temp output left")

        let log = try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, 1)
        let line = try h.json(String(log[0]))
        XCTAssertEqual(line["id"] as? String, id)
        XCTAssertEqual(line["outcome"] as? String, "completed")
        XCTAssertEqual(line["kind"] as? String, "mp3")
        XCTAssertEqual((line["user"] as? String)?.count, 64)
        XCTAssertFalse(log[0].contains("user_123"))
        for key in ["mediaSeconds", "renderSeconds", "queueSeconds", "bytes", "time"] { XCTAssertNotNil(line[key], key) }

        let stats = try h.json(try h.run(["stats", "--json"]).stdout)
        XCTAssertEqual(stats["total"] as? Int, 1)
        XCTAssertEqual(stats["uniqueUsers"] as? Int, 1)
        XCTAssertEqual(try XCTUnwrap(stats["mediaSeconds"] as? Double), 3.0, accuracy: 0.05)
        XCTAssertEqual(((stats["byKind"] as? [String: Any])?["mp3"] as? [String: Any])?["completed"] as? Int, 1)
    }

    func testBadJobsFailClearlyWhileTheDaemonKeepsGoing() throws {
        try h.makeTone("talk.wav", seconds: 1)
        try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }).write(to: URL(fileURLWithPath: h.path("garbage.wav")))
        try h.makeTone("gone.wav", seconds: 1)
        let corrupt = try submit("c.json", #"{"kind":"mp3","input":"garbage.wav","output":"out/c.mp3"}"#)
        let vanished = try submit("v.json", #"{"kind":"mp3","input":"gone.wav","output":"out/v.mp3"}"#)
        try FileManager.default.removeItem(atPath: h.path("gone.wav"))
        // A malformed job planted straight into the queue, bypassing submit.
        let planted = "0000000000001-abcdef"
        try "{ this is not json".write(toFile: h.spool + "/queue/\(planted).json", atomically: false, encoding: .utf8)
        let good = try submit("g.json", #"{"kind":"mp3","input":"talk.wav","output":"out/g.mp3"}"#)

        let daemon = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "60", corrupt, vanished, planted, good])
        XCTAssertEqual(w.status, 1, "wait exits 1 when a job failed: \(w.stdout) \(w.stderr)")
        XCTAssertTrue(daemon.isRunning, "the daemon survives bad jobs")

        func error(_ id: String) throws -> (String, String) {
            let s = try h.json(try h.run(["status", "--json", id]).stdout)
            XCTAssertEqual(s["state"] as? String, "failed", "\(id): \(s)")
            let e = s["error"] as? [String: Any]
            return (e?["code"] as? String ?? "", e?["message"] as? String ?? "")
        }
        let c = try error(corrupt)
        XCTAssertEqual(c.0, "invalid-media")
        XCTAssertTrue(c.1.contains("garbage.wav"), c.1)
        let v = try error(vanished)
        XCTAssertEqual(v.0, "input-unreadable")
        XCTAssertTrue(v.1.contains("gone.wav"), v.1)
        let m = try error(planted)
        XCTAssertEqual(m.0, "invalid-job")
        let g = try h.json(try h.run(["status", "--json", good]).stdout)
        XCTAssertEqual(g["state"] as? String, "completed")
        XCTAssertEqual(h.files(in: "out"), ["g.mp3"], "failed jobs leave no output and no temp")
    }

    /// A long render for the kill and cancel tests (a couple of seconds in a debug build).
    private func longJob(_ name: String) throws -> String {
        if !FileManager.default.fileExists(atPath: h.path("long.wav")) { try h.makeTone("long.wav", seconds: 600, rate: 44100, channels: 2) }
        return try submit(name + ".json", #"{"kind":"mp3","input":"long.wav","output":"out/"# + name + #".mp3","bitrate":320}"#)
    }

    func testKill9DuringRenderThenRestartCompletesWithNoPartialOutput() throws {
        let id = try longJob("long")
        let d1 = try h.startDaemon()
        _ = try h.waitFor(id) { ($0["progress"] as? Double ?? 0) > 0.02 }
        kill(d1.processIdentifier, SIGKILL)
        d1.waitUntilExit()
        // The orphaned render child is in its own process group; the daemon
        // is gone, so the final name must not exist, whatever the child does.
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.path("out/long.mp3")), "no partial file under the output's name")
        XCTAssertEqual(h.files(in: "spool/running"), ["\(id).json"])

        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "300", id])
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(s["attempts"] as? Int, 2, "the interrupted attempt is counted")
        let p = try h.probe(h.path("out/long.mp3"))
        XCTAssertEqual(p.duration, 600, accuracy: 1152.0 / 44100)
        XCTAssertEqual(h.files(in: "out"), ["long.mp3"], "no temp output remains")
        XCTAssertEqual(h.files(in: "spool/running"), [])
        XCTAssertEqual(h.files(in: "spool/tmp"), [])
    }

    func testCancelRunningJobStopsItWithinASecond() throws {
        let id = try longJob("cancelme")
        _ = try h.startDaemon()
        _ = try h.waitFor(id) { $0["state"] as? String == "processing" && ($0["progress"] as? Double ?? 0) > 0 }
        let t0 = Date()
        let r = try h.run(["cancel", id])
        let took = Date().timeIntervalSince(t0)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "\(id) cancelled\n")
        XCTAssertLessThan(took, 1.0, "cancelled within one second")
        XCTAssertEqual(h.files(in: "out"), [], "partial output removed")
        XCTAssertEqual(try h.run(["wait", id]).status, 2)
    }

    func testSigtermRequeuesTheJobInHandWithoutCountingTheAttempt() throws {
        let id = try longJob("term")
        let d = try h.startDaemon()
        _ = try h.waitFor(id) { $0["state"] as? String == "processing" }
        d.terminate()
        d.waitUntilExit()
        XCTAssertEqual(d.terminationStatus, 0)
        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(s["state"] as? String, "queued")
        XCTAssertEqual(s["attempts"] as? Int, 0)
        XCTAssertEqual(h.files(in: "out"), [], "the temp output is removed")
    }

    func testSecondDaemonIsRefusedAndOnceExitsWhenEmpty() throws {
        try h.makeTone("talk.wav", seconds: 1)
        let id = try submit("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        let once = try h.run(["daemon", "--once"])
        XCTAssertEqual(once.status, 0, once.stderr)
        XCTAssertEqual(try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String, "completed")

        _ = try h.startDaemon()
        usleep(300_000)
        let second = try h.run(["daemon"])
        XCTAssertEqual(second.status, 75)
        XCTAssertTrue(second.stderr.contains("already running"), second.stderr)
    }

    func testSubmitToProcessingIsFastAndSubmitWaitExitsLikeWait() throws {
        try h.makeTone("talk.wav", seconds: 1)
        _ = try h.startDaemon()
        usleep(300_000)
        try h.writeJob("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        let r = try h.run(["submit", "--wait", "a.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try h.writeJob("b.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3","overwrite":true,"start":5}"#)
        let b = try h.run(["submit", "--wait", "b.json"])
        XCTAssertEqual(b.status, 1, "start past the end fails the job: \(b.stderr)")
        XCTAssertTrue(b.stderr.contains("trim-out-of-range"), b.stderr)
    }

    func testRenderCommandInTheForeground() throws {
        try h.makeTone("talk.wav", seconds: 2)
        try h.writeJob("r.json", #"{"kind":"mp3","input":"talk.wav","output":"out/r.mp3","start":0.5,"duration":1,"channels":1,"sampleRate":22050}"#)
        let r = try h.run(["render", "--json", "r.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try h.json(r.stdout)
        XCTAssertEqual(j["output"] as? String, h.path("out/r.mp3"))
        let p = try h.probe(h.path("out/r.mp3"))
        XCTAssertEqual(p.rate, 22050)
        XCTAssertEqual(p.channels, 1)
        XCTAssertEqual(p.duration, 1.0, accuracy: 1152.0 / 22050)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.spool), "render uses no spool")
        let again = try h.run(["render", "r.json"])
        XCTAssertEqual(again.status, 65, "the output exists and overwrite is not set")
        XCTAssertTrue(again.stderr.contains("exists"), again.stderr)
    }
}
