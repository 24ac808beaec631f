import Foundation
import XCTest

/// pause, resume, drain and `status` without an id, across daemon restarts.
final class QueueControlTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.writeSettings(#"{"rescanSeconds": 1}"#)
        try h.installFakeRenderer(before: "sleep 0.4")
    }

    override func tearDown() { h?.stopAll() }

    private func overview() throws -> [String: Any] { try h.json(try h.run(["status", "--json"]).stdout) }

    func testPauseFinishesTheJobInHandStartsNoOtherAndOutlivesTheDaemon() throws {
        let a = try h.submitJob(), b = try h.submitJob()
        var d = try h.startDaemon()
        _ = try h.waitFor(a) { $0["state"] as? String == "processing" }
        let p = try h.run(["pause"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertEqual(p.stdout, "paused: \(a) is finished, no other job is started\n")
        let pausing = try overview()
        XCTAssertEqual((pausing["daemon"] as? [String: Any])?["state"] as? String, "pausing")
        XCTAssertEqual((pausing["current"] as? [String: Any])?["id"] as? String, a)
        XCTAssertEqual(try h.run(["wait", "--timeout", "5", a]).status, 0, "the job in hand is finished")
        usleep(800_000)
        XCTAssertEqual(try h.status(b)["state"] as? String, "queued", "no new job is started while paused")

        d.terminate(); d.waitUntilExit()
        d = try h.startDaemon()
        usleep(700_000)
        XCTAssertEqual(try h.status(b)["state"] as? String, "queued", "still paused after a restart")
        let o = try overview()
        XCTAssertEqual(o["paused"] as? Bool, true)
        XCTAssertEqual((o["daemon"] as? [String: Any])?["state"] as? String, "paused")
        XCTAssertEqual((o["daemon"] as? [String: Any])?["pid"] as? Int, Int(d.processIdentifier))
        XCTAssertTrue(o["current"] is NSNull)
        XCTAssertEqual((o["jobs"] as? [String: Any])?["queued"] as? Int, 1)
        XCTAssertEqual((o["jobs"] as? [String: Any])?["completed"] as? Int, 1)
        let text = try h.run(["status"]).stdout
        XCTAssertTrue(text.contains("daemon: running (pid \(d.processIdentifier)), paused\n"), text)
        XCTAssertTrue(text.contains("waiting: 1 queued, 0 deferred, 0 held\n"), text)
        XCTAssertTrue(text.contains("finished: 1 completed, 0 failed, 0 cancelled\n"), text)

        XCTAssertEqual(try h.run(["resume"]).stdout, "resumed\n")
        XCTAssertEqual(try h.run(["wait", "--timeout", "5", b]).status, 0)
        XCTAssertEqual(h.renders().map(\.id), [a, b])
    }

    func testDrainRefusesSubmitsFinishesTheQueueAcrossARestartAndExitsZero() throws {
        let ids = try (0..<3).map { _ in try h.submitJob() }
        var d = try h.startDaemon()
        _ = try h.waitFor(ids[0]) { $0["state"] as? String == "processing" }
        let r = try h.run(["drain"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("draining: the daemon finishes the queue"), r.stdout)

        try h.writeJob("late.json", #"{"kind":"mp3","input":"in.wav","output":"out/late.mp3"}"#)
        let refused = try h.run(["submit", "late.json"])
        XCTAssertEqual(refused.status, 75)
        XCTAssertTrue(refused.stderr.contains("the spool is draining"), refused.stderr)
        XCTAssertEqual(refused.stdout, "", "no id printed")
        XCTAssertTrue(try h.run(["status"]).stdout.contains("draining"))

        // A restart in the middle: the drain is in the spool, so the next daemon carries on.
        d.terminate(); d.waitUntilExit()
        XCTAssertEqual(d.terminationStatus, 0)
        XCTAssertEqual(try overview()["draining"] as? Bool, true)
        d = try h.startDaemon()
        XCTAssertTrue(h.eventually(timeout: 10) { !d.isRunning }, "the daemon exits once the queue is drained")
        XCTAssertEqual(d.terminationStatus, 0)
        for id in ids { XCTAssertEqual(try h.status(id)["state"] as? String, "completed") }
        XCTAssertEqual(h.files(in: "spool/queue"), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.spool + "/control/draining"), "a finished drain is over")
        XCTAssertEqual(try h.run(["submit", "late.json"]).status, 0, "submit accepts jobs again")
    }

    func testDrainWithoutADaemonAndResumeUndoesIt() throws {
        let none = try h.run(["--spool", h.path("nowhere"), "status"])
        XCTAssertEqual(none.status, 66)
        XCTAssertEqual(none.stderr, "exportctl: no spool at \(h.path("nowhere"))\n")
        let a = try h.submitJob()
        XCTAssertTrue(try h.run(["drain"]).stdout.contains("no daemon is running"))
        XCTAssertEqual((try overview()["daemon"] as? [String: Any])?["state"] as? String, "stopped")
        XCTAssertEqual(try h.run(["resume"]).status, 0)
        XCTAssertEqual(try h.submitJob().count, 20)
        XCTAssertEqual(try h.run(["drain"]).status, 0)
        let d = try h.startDaemon()
        XCTAssertTrue(h.eventually(timeout: 10) { !d.isRunning })
        XCTAssertEqual(d.terminationStatus, 0)
        XCTAssertEqual(try h.status(a)["state"] as? String, "completed")
        XCTAssertEqual(h.renders().count, 2)
    }
}
