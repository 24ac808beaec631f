import Foundation
import XCTest

/// Jobs submitted while the daemon is stopped (SIGSTOP) overflow the inotify
/// queue (16,384 events by default); the daemon must rescan on IN_Q_OVERFLOW
/// and process every one. rescanSeconds is set to an hour so only the
/// overflow handling can find the jobs in time.
final class InotifyOverflowTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws { h = try CLIHarness() }
    override func tearDown() { h?.stopAll() }

    /// 20,000 jobs under `make torture` (EXPORTCTL_TORTURE_OVERFLOW=20000); 2,000 in `make test`.
    func testJobsSubmittedWhileTheDaemonIsStoppedAreAllProcessed() throws {
        let total = Int(ProcessInfo.processInfo.environment["EXPORTCTL_TORTURE_OVERFLOW"] ?? "") ?? 2000
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try #"{"rescanSeconds": 3600}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        try "in".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
        // A stand-in renderer: the queue, not FFmpeg, is under test here.
        try """
        #!/bin/sh
        printf x > "$2"
        echo '{"event":"result","duration":1.0,"bytes":1,"mediaSeconds":1.0,"codec":"mp3"}'
        """.write(toFile: h.path("fake-render"), atomically: true, encoding: .utf8)
        chmod(h.path("fake-render"), 0o755)
        h.extraEnvironment["EXPORTCTL_RENDERER"] = h.path("fake-render")

        let daemon = try h.startDaemon()
        usleep(300_000)
        kill(daemon.processIdentifier, SIGSTOP)
        let batch = 1000
        var submitted = 0
        while submitted < total {
            var files: [String] = []
            for i in submitted..<min(total, submitted + batch) {
                files.append(try h.writeJob("j\(i % batch).json", #"{"kind":"mp3","input":"in.wav","output":"out/\#(i).mp3"}"#))
            }
            let r = try h.run(["submit"] + files)
            XCTAssertEqual(r.status, 0, r.stderr)
            submitted += files.count
        }
        kill(daemon.processIdentifier, SIGCONT)
        let deadline = Date().addingTimeInterval(Double(total) / 20 + 60)
        while h.files(in: "spool/done").count < total && Date() < deadline && daemon.isRunning { usleep(200_000) }
        XCTAssertEqual(h.files(in: "spool/done").count, total, "every job submitted while the daemon was stopped is processed")
        XCTAssertEqual(h.files(in: "spool/queue"), [])
        XCTAssertTrue(daemon.isRunning)
    }
}
