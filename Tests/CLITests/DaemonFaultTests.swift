import Foundation
import XCTest

/// Errors injected into the daemon's own system calls (strace, daemon only,
/// not its render children): the job is deferred and retried, the daemon
/// keeps running, and nothing spins.
final class DaemonFaultTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else { throw XCTSkip("strace is not installed") }
        h = try CLIHarness(needsRenderer: true)
        // The whole layout, so the daemon's only fsyncs are recovery's and the job's.
        for d in ["tmp", "queue", "held", "running", "done", "failed", "cancelled", "status", "cancel", "priority", "scheduled", "control"] {
            try FileManager.default.createDirectory(atPath: h.spool + "/" + d, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        chmod(h.spool, 0o700)
        try #"{"retryBackoffSeconds": 0.3}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        try h.makeTone("talk.wav", seconds: 1)
    }

    override func tearDown() {
        // strace -o FILE PROG blocks fatal signals, so stop the daemon itself
        // (its pid is in daemon.lock); strace exits with it.
        if let d = tracedDaemon, d.isRunning {
            let pid = (try? String(contentsOfFile: h.spool + "/daemon.lock", encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let pid { kill(pid, SIGTERM) }
            let deadline = Date().addingTimeInterval(5)
            while d.isRunning && Date() < deadline { usleep(20_000) }
            if d.isRunning, let pid { kill(pid, SIGKILL) }
            d.waitUntilExit()
        }
        h?.stopAll()
    }

    private var tracedDaemon: Process?
    private var daemonLog: URL { h.dir.appendingPathComponent("daemon.log") }

    /// Starts `strace -o /dev/null INJECT -- exportctl daemon` with the daemon's stderr in daemon.log.
    private func startTracedDaemon(_ inject: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        p.arguments = ["-o", "/dev/null"] + inject + ["--", CLIHarness.exportctl, "daemon"]
        p.currentDirectoryURL = h.dir
        p.environment = h.environment
        FileManager.default.createFile(atPath: daemonLog.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: daemonLog)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        tracedDaemon = p
    }

    private func submitAndWait() throws -> [String: Any] {
        try h.writeJob("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        let id = try h.run(["submit", "a.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let w = try h.run(["wait", "--timeout", "30", id])
        let log = try String(contentsOf: daemonLog, encoding: .utf8)
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr + log)
        XCTAssertTrue(tracedDaemon?.isRunning ?? false, "the daemon keeps running")
        XCTAssertEqual(try h.probe(h.path("out/a.mp3")).duration, 1, accuracy: 1152.0 / 44100)
        XCTAssertEqual(h.files(in: "out"), ["a.mp3"])
        return try h.json(try h.run(["status", "--json", id]).stdout)
    }

    func testFullDiskWhenRecordingTheStartDefersTheJobWithoutSpinning() throws {
        // fsync #1 is recovery's fsync of queue/; from #2 on every fsync fails, as on a full disk.
        try startTracedDaemon(["-e", "trace=fsync", "-e", "inject=fsync:error=ENOSPC:when=2+"])
        usleep(300_000)
        try h.writeJob("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        let id = try h.run(["submit", "a.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        sleep(3)
        XCTAssertTrue(tracedDaemon?.isRunning ?? false, "the daemon keeps running")
        let log = try String(contentsOf: daemonLog, encoding: .utf8)
        let tries = log.components(separatedBy: "cannot record the start").count - 1
        XCTAssertGreaterThanOrEqual(tries, 1, log)
        XCTAssertLessThanOrEqual(tries, 4, "a pause of at least a second between tries, not a loop: \(tries) tries in 3 s")
        XCTAssertEqual(try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String, "queued", "the job waits in the queue")
        XCTAssertEqual(h.files(in: "out"), [])
    }

    func testIOErrorWhilePublishingIsRetried() throws {
        // The daemon's only renameat2 is the no-replace publish of the output.
        try startTracedDaemon(["-e", "trace=renameat2", "-e", "inject=renameat2:error=EIO:when=1"])
        usleep(300_000)
        let s = try submitAndWait()
        XCTAssertEqual(s["attempts"] as? Int, 2, "the failed publish was retried")
        XCTAssertTrue(try String(contentsOf: daemonLog, encoding: .utf8).contains("will be retried"))
    }

    func testTooManyOpenFilesWhenStartingTheRenderIsRetried() throws {
        try startTracedDaemon(["-e", "trace=pipe2", "-e", "inject=pipe2:error=EMFILE:when=1"])
        usleep(300_000)
        let s = try submitAndWait()
        XCTAssertEqual(s["attempts"] as? Int, 2)
    }
}
