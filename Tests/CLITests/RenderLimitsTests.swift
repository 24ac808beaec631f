import Foundation
import XCTest

/// The spool's `renderLimits` bound each render child: a render that writes
/// more than `fileSizeMB` or uses more than `cpuSeconds` fails with a message
/// that names the limit, its temp removed, and the daemon goes on with the next job.
final class RenderLimitsTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() { h?.stopAll() }

    private func settings(_ json: String) throws {
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try json.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    private func submit(_ name: String, _ json: String) throws -> String {
        try h.writeJob(name, json)
        let r = try h.run(["submit", name])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testAnOutputLargerThanTheFileSizeLimitFailsAndTheNextJobRuns() throws {
        try settings(#"{"renderLimits": {"fileSizeMB": 1}}"#)
        try h.makeTone("long.wav", seconds: 120)
        try h.makeTone("short.wav", seconds: 1)
        // 120 s at 128 kbit/s is about 1.9 MB: past the 1 MiB limit.
        let big = try submit("big.json", #"{"kind":"mp3","input":"long.wav","output":"out/big.mp3"}"#)
        let small = try submit("small.json", #"{"kind":"mp3","input":"short.wav","output":"out/small.mp3"}"#)
        let daemon = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "60", big, small])
        XCTAssertEqual(w.status, 1, w.stdout + w.stderr)
        let s = try h.json(try h.run(["status", "--json", big]).stdout)
        XCTAssertEqual(s["state"] as? String, "failed")
        let message = ((s["error"] as? [String: Any])?["message"] as? String) ?? ""
        XCTAssertTrue(message.contains("File too large") && message.contains("renderLimits.fileSizeMB"), message)
        XCTAssertEqual(s["attempts"] as? Int, 1, "a limit is not retried")
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.path("out/big.mp3")))
        XCTAssertEqual(h.files(in: "out").filter { $0.hasPrefix(".") }, [], "no temp left")
        XCTAssertEqual(try h.json(try h.run(["status", "--json", small]).stdout)["state"] as? String, "completed")
        XCTAssertTrue(daemon.isRunning)
    }

    func testARenderPastTheCPULimitIsStoppedAndSaysSo() throws {
        try settings(#"{"renderLimits": {"cpuSeconds": 1}}"#)
        try h.makeTone("talk.wav", seconds: 120)
        try h.makeMedia("still.png", ["-f", "lavfi", "-i", "testsrc2=s=1280x720", "-frames:v", "1"])
        // Two minutes of 1280x720 video at the slow preset: far more than a second of CPU.
        let id = try submit("video.json", #"{"kind":"mp4","output":"out/v.mp4","width":1280,"height":720,"audio":"talk.wav","slides":[{"image":"still.png"}],"preset":"slow"}"#)
        let started = Date()
        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "60", id])
        XCTAssertEqual(w.status, 1, w.stdout + w.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "stopped soon after its CPU second")
        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        let error = try XCTUnwrap(s["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "limit-exceeded")
        XCTAssertTrue((error["message"] as? String ?? "").contains("renderLimits.cpuSeconds"), "\(error)")
        XCTAssertEqual(h.files(in: "out").filter { $0.hasPrefix(".") }, [], "no temp left")
    }

    func testABadLimitIsASettingsError() throws {
        try settings(#"{"renderLimits": {"memoryMB": 10}}"#)
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 78, d.stderr)
        XCTAssertTrue(d.stderr.contains("renderLimits.memoryMB"), d.stderr)
    }

    /// The limits the render child really runs under, read from /proc while it renders.
    func testTheRenderChildRunsUnderTheOpenFileAndMemoryLimits() throws {
        try settings(#"{"renderLimits": {"openFiles": 64, "memoryMB": 3000}}"#)
        try h.makeTone("talk.wav", seconds: 120)
        try h.makeMedia("still.png", ["-f", "lavfi", "-i", "testsrc2=s=1280x720", "-frames:v", "1"])
        let id = try submit("video.json", #"{"kind":"mp4","output":"out/v.mp4","width":1280,"height":720,"audio":"talk.wav","slides":[{"image":"still.png"}],"preset":"slow"}"#)
        let daemon = try h.startDaemon()
        // The child sets its limits first thing in main, after the loader has mapped FFmpeg:
        // read until they show (or the deadline passes and the assertions say what was there).
        var limits = ""
        let deadline = Date().addingTimeInterval(20)
        while !limits.contains("Max open files            64 "), Date() < deadline {
            usleep(50_000)
            let children = (try? String(contentsOfFile: "/proc/\(daemon.processIdentifier)/task/\(daemon.processIdentifier)/children", encoding: .utf8)) ?? ""
            for pid in children.split(separator: " ") {
                let cmd = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                if cmd.contains("exportctl-render") && cmd.contains(id) {
                    limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
                }
            }
        }
        func line(_ name: String) -> [String] {
            (limits.split(separator: "\n").first { $0.hasPrefix(name) } ?? "").dropFirst(name.count).split(separator: " ").map(String.init)
        }
        XCTAssertEqual(Array(line("Max open files").prefix(2)), ["64", "64"], limits)
        XCTAssertEqual(Array(line("Max address space").prefix(2)), ["3145728000", "3145728000"], limits)
        XCTAssertEqual(Array(line("Max file size").prefix(1)), [String(Int64(16384) << 20)], "the default file size limit: \(limits)")
        XCTAssertEqual(try h.run(["cancel", id]).status, 0)
    }
}
