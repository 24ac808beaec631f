import Foundation
import XCTest

/// The daemon does not start a job while the output's filesystem has less
/// free space than the spool's margin plus the job's estimated size; the job
/// waits as deferred and starts when space returns. On a small tmpfs.
final class DiskAdmissionTests: XCTestCase {
    var h: CLIHarness!
    var mounted: String?

    override func setUpWithError() throws {
        h = try CLIHarness()
        let dir = h.path("small")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", dir]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            throw XCTSkip("cannot mount a tmpfs at \(dir) (mount exited \(mount.terminationStatus); this test needs root and CAP_SYS_ADMIN)")
        }
        mounted = dir
        try h.writeSettings(#"{"diskMarginMB": 1, "rescanSeconds": 1}"#)
        try h.installFakeRenderer()
    }

    override func tearDown() {
        h?.stopAll()  // the daemon first, then the mount, then the scratch directory
        if let m = mounted {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/umount")
            p.arguments = ["-l", m]
            try? p.run()
            p.waitUntilExit()
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: m).deletingLastPathComponent().path)
        }
    }

    func testAJobWaitsForDiskSpaceAndStartsWhenItReturns() throws {
        // 3.5 of the 4 MiB taken: less than the 1 MiB margin is left.
        try Data(count: 3_500_000).write(to: URL(fileURLWithPath: h.path("small/filler")))
        let id = try h.submitJob(output: "small/o.mp3")
        let elsewhere = try h.submitJob()
        _ = try h.startDaemon()
        let s = try h.waitFor(id) { $0["state"] as? String == "deferred" && $0["deferredReason"] != nil }
        let why = try XCTUnwrap(s["deferredReason"] as? String)
        XCTAssertTrue(why.hasPrefix("waiting for disk space: "), why)
        XCTAssertTrue(why.contains("diskMarginMB of 1 MiB"), why)
        XCTAssertTrue(why.contains(h.path("small")), why)
        XCTAssertTrue(try h.run(["status", id]).stdout.contains("deferred    waiting for disk space"))
        XCTAssertEqual(try h.run(["wait", "--timeout", "5", elsewhere]).status, 0, "a job for another filesystem is not held up")
        usleep(1_200_000)
        XCTAssertFalse(h.renders().map(\.id).contains(id), "not started while the space is short")
        XCTAssertEqual((try h.json(try h.run(["status", "--json"]).stdout)["jobs"] as? [String: Any])?["deferred"] as? Int, 1)

        try FileManager.default.removeItem(atPath: h.path("small/filler"))
        let w = try h.run(["wait", "--timeout", "5", id])
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        XCTAssertEqual(try String(contentsOfFile: h.path("small/o.mp3"), encoding: .utf8), "ID3")
        XCTAssertNil(try h.status(id)["deferredReason"])
    }

    func testTheEstimateCountsTheInputsSize() throws {
        // 2 MiB free and a margin of 1 MiB: a 1.5 MB input does not fit, a small one does.
        try Data(count: 2 << 20).write(to: URL(fileURLWithPath: h.path("small/filler")))
        try Data(count: 1_500_000).write(to: URL(fileURLWithPath: h.path("big.wav")))
        try h.writeJob("big.json", #"{"kind":"mp3","input":"big.wav","output":"small/big.mp3"}"#)
        let big = try h.run(["submit", "big.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let small = try h.submitJob(output: "small/small.mp3")
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "5", small]).status, 0)
        let s = try h.waitFor(big) { $0["state"] as? String == "deferred" }
        XCTAssertTrue((s["deferredReason"] as? String ?? "").contains("needs 1.4 MiB (its estimated size)"), "\(s)")
    }
}
