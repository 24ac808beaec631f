import Foundation
import XCTest

/// A simulated power cut: the spool and the outputs on a loop-mounted ext4,
/// shut down with `xfs_io -x -c shutdown` (the ext4 shutdown ioctl without a
/// log flush: nothing not yet on disk gets there), the processes killed, the
/// filesystem mounted again. What was acknowledged must be there and whole:
/// an id printed by `submit`, a completion `wait` reported, a cancel that
/// returned, a start the status showed.
///
/// Needs root, a loop device, mkfs.ext4 and xfs_io; skips saying which is missing.
final class PowerCutTests: XCTestCase {
    var h: CLIHarness!
    private var mounted = false
    private var daemon: Process?
    private var mnt: String { h.path("mnt") }
    private var image: String { h.path("disk.img") }

    override func setUpWithError() throws {
        if name.contains("AtRandomMoments") && ProcessInfo.processInfo.environment["EXPORTCTL_TORTURE_JOBS"] == nil {
            throw XCTSkip("the random power cuts run in make torture (EXPORTCTL_TORTURE_JOBS)")
        }
        guard getuid() == 0 else { throw XCTSkip("the power-cut tests mount a loop device and need root") }
        for tool in ["/usr/sbin/mkfs.ext4", "/usr/sbin/xfs_io", "/usr/bin/mount", "/usr/bin/umount"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("\(tool) is missing (Debian: e2fsprogs, xfsprogs, mount)")
        }
        h = try CLIHarness(needsRenderer: true)
        try FaultBatch(h).makeInputs()
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let made = try tool("/usr/bin/truncate", ["-s", "320M", image])
        XCTAssertEqual(made.0, 0, made.1)
        let fs = try tool("/usr/sbin/mkfs.ext4", ["-q", "-F", image])
        XCTAssertEqual(fs.0, 0, fs.1)
        try mount()
        // The layout made durable before the test starts, as an installed spool would be.
        for d in ["tmp", "queue", "running", "done", "failed", "cancelled", "status", "cancel"].map({ "spool/" + $0 }) + ["out"] {
            try FileManager.default.createDirectory(atPath: mnt + "/" + d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        chmod(mnt + "/spool", 0o700)
        h.extraEnvironment["EXPORTCTL_SPOOL"] = mnt + "/spool"
        sync()
    }

    override func tearDown() {
        stopDaemon()
        if mounted { unmount() }
        h?.stopAll()
    }

    /// Runs a tool to completion; returns its exit status and stderr.
    @discardableResult
    private func tool(_ path: String, _ args: [String]) throws -> (Int32, String) {
        try CLIHarness.runTool(path, args)
    }

    private func mount() throws {
        let r = try tool("/usr/bin/mount", ["-o", "loop", image, mnt])
        if r.0 != 0 { throw XCTSkip("cannot mount a loop device here (mount -o loop: \(r.1.trimmingCharacters(in: .whitespacesAndNewlines)))") }
        mounted = true
    }

    private func unmount() {
        for _ in 0..<50 {
            if (try? tool("/usr/bin/umount", [mnt]))?.0 == 0 { mounted = false; return }
            usleep(100_000)
        }
        _ = try? tool("/usr/bin/umount", ["-l", mnt])
        mounted = false
    }

    private func startDaemon() throws {
        daemon = try h.startDaemon(stderr: h.dir.appendingPathComponent("daemon.log"))
    }

    private func stopDaemon() {
        guard let d = daemon else { return }
        if d.isRunning { kill(d.processIdentifier, SIGKILL) }
        d.waitUntilExit()
        daemon = nil
    }

    /// The cut: the filesystem stops where it is, then every process dies
    /// (the render child with the daemon), then it is mounted again.
    /// A canary written just before each cut and never fsynced must not survive
    /// it: the proof that the cut really drops what was not made durable.
    private func powerCut() throws {
        cuts += 1
        let canary = mnt + "/canary-\(cuts)"
        // write(2) and close(2) only: Foundation's Data.write fsyncs.
        let fd = open(canary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(write(fd, [UInt8](repeating: 0x43, count: 4096), 4096), 4096)
        close(fd)
        let r = try tool("/usr/sbin/xfs_io", ["-x", "-c", "shutdown", mnt])
        if r.0 != 0 || !r.1.isEmpty { throw XCTSkip("xfs_io -x -c shutdown does not work on ext4 here: \(r.1)") }
        stopDaemon()
        unmount()
        try mount()
        let survived = (try? FileManager.default.attributesOfItem(atPath: canary)[.size] as? Int) ?? 0
        XCTAssertEqual(survived, 0, "a write never fsynced did not survive the cut (else this is no power cut)")
    }

    private var cuts = 0

    private func batch() -> FaultBatch { FaultBatch(h, outDir: "mnt/out", spoolDir: "mnt/spool") }

    func testEveryIdPrintedBySubmitSurvivesACutRightAfter() throws {
        let b = batch()
        let entries = try b.writeJobs(5, kinds: [.mp3])
        // One batch of three, then two single submits; the cut comes the moment the last returns.
        let first = try h.run(["submit"] + entries[0..<3].map(\.file))
        XCTAssertEqual(first.status, 0, first.stderr)
        var ids = first.lines
        for e in entries[3...] {
            let s = try h.run(["submit", e.file])
            XCTAssertEqual(s.status, 0, s.stderr)
            ids += s.lines
        }
        try powerCut()
        XCTAssertEqual(h.files(in: "mnt/spool/queue"), ids.map { $0 + ".json" }.sorted(), "every acknowledged job is in queue/")
        for id in ids {
            let s = try h.run(["status", "--json", id])
            XCTAssertEqual(s.status, 0, s.stderr)
            XCTAssertEqual(try h.json(s.stdout)["state"] as? String, "queued", "\(id) is whole and queued")
        }
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 0, d.stderr)
        try b.assertAllCompletedAndWhole(entries, ids: ids, "after a cut right after submit")
    }

    func testACompletionWaitReportedSurvivesACutRightAfter() throws {
        let b = batch()
        let entries = try b.writeJobs(4)
        let s = try h.run(["submit"] + entries.map(\.file))
        XCTAssertEqual(s.status, 0, s.stderr)
        try startDaemon()
        let w = try h.run(["wait", "--timeout", "60"] + s.lines)
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        try powerCut()
        // Before any recovery: every output is on disk and whole (it was made durable before "completed").
        for e in entries {
            if let p = try b.problem(with: e) { XCTFail("right after the cut: " + p) }
        }
        let fsck = try h.run(["fsck"])
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 0, d.stderr)
        try b.assertAllCompletedAndWhole(entries, ids: s.lines, "after a cut right after the publishes (fsck before recovery: \(fsck.stdout))")
        for id in s.lines {
            XCTAssertEqual(try h.json(try h.run(["status", "--json", id]).stdout)["attempts"] as? Int, 1, "\(id) was not rendered again")
        }
    }

    func testACancelAndAStartSurviveACutRightAfter() throws {
        try h.makeTone("long.wav", seconds: 120)
        try h.writeJob("long.json", #"{"kind":"mp3","input":"long.wav","output":"mnt/out/long.mp3","bitrate":320}"#)
        try h.writeJob("later.json", #"{"kind":"mp3","input":"tone.wav","output":"mnt/out/later.mp3"}"#)
        let s = try h.run(["submit", "long.json", "later.json"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let (long, later) = (s.lines[0], s.lines[1])
        try startDaemon()
        _ = try h.waitFor(long) { $0["state"] as? String == "processing" && ($0["progress"] as? Double ?? 0) > 0 }
        let c = try h.run(["cancel", later])
        XCTAssertEqual(c.status, 0, c.stderr)
        try powerCut()
        XCTAssertEqual(try h.json(try h.run(["status", "--json", later]).stdout)["state"] as? String, "cancelled", "the cancel held")
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.path("mnt/out/long.mp3")), "no partial output under the name")
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 0, d.stderr)
        let r = try h.json(try h.run(["status", "--json", long]).stdout)
        XCTAssertEqual(r["state"] as? String, "completed")
        XCTAssertEqual(r["attempts"] as? Int, 2, "the start was recorded before the cut, so the interrupted attempt counts")
        XCTAssertEqual(try h.probe(h.path("mnt/out/long.mp3")).duration, 120, accuracy: 1152.0 / 44100)
        XCTAssertEqual(h.files(in: "mnt/out"), ["long.mp3"], "no temp left")
        XCTAssertEqual(h.files(in: "mnt/spool/running"), [])
    }

    /// A carousel rendered again over its folder (`"overwrite": true`, swapped in
    /// with `RENAME_EXCHANGE`), and the power cut right after `wait` reported it
    /// (in `make torture`: 8 overwrites, each cut at a random moment): the folder
    /// under the name is whole, the old one or the new, and recovery leaves only it.
    func testACarouselOverwriteIsWholeOldOrNewAfterACut() throws {
        let torture = ProcessInfo.processInfo.environment["EXPORTCTL_TORTURE_JOBS"] != nil
        let b = batch()
        let first = try b.writeJobs(1, kinds: [.carousel])[0]
        let again = try String(contentsOfFile: h.path(first.file), encoding: .utf8)
            .replacing(#""kind":"carousel","#, with: #""kind":"carousel","overwrite":true,"#).replacing("survives", with: "again")
        try h.writeJob("again.json", again)
        let s = try h.run(["submit", first.file])
        XCTAssertEqual(s.status, 0, s.stderr)
        try startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "60"] + s.lines).status, 0)
        func manifestJob() throws -> String? {
            let data = try Data(contentsOf: URL(fileURLWithPath: h.path(first.output + "/manifest.json")))
            return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["job"] as? String
        }
        var generator = SystemRandomNumberGenerator()
        var sawOld = 0, sawNew = 0
        for cut in 1...(torture ? 8 : 1) {
            let before = try manifestJob()
            let o = try h.run(["submit", "again.json"])
            XCTAssertEqual(o.status, 0, o.stderr)
            let id = o.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if torture {
                if daemon == nil { try startDaemon() }
                usleep(UInt32.random(in: 0...1_000_000, using: &generator))
            } else {
                XCTAssertEqual(try h.run(["wait", "--timeout", "60", id]).status, 0)
            }
            try powerCut()
            if let p = try b.problem(with: first) { XCTFail("cut \(cut): the folder under the name is not whole: " + p) }
            let after = try manifestJob()
            XCTAssertTrue(after == before || after == id, "cut \(cut): the old folder or the new one, not another")
            if after == id { sawNew += 1 } else { sawOld += 1 }
            if !torture { XCTAssertEqual(after, id, "an overwrite wait reported is the one on disk") }
            let d = try h.run(["daemon", "--once"])
            XCTAssertEqual(d.status, 0, d.stderr)
            XCTAssertEqual(try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String, "completed")
            XCTAssertEqual(try manifestJob(), id, "cut \(cut): after recovery the new folder is in place")
            XCTAssertEqual(h.files(in: "mnt/out"), ["o0"], "cut \(cut): no temp folder left beside it")
            if let p = try b.problem(with: first) { XCTFail("cut \(cut) after recovery: " + p) }
        }
        print("carousel overwrite cuts: the old folder whole after \(sawOld), the new one after \(sawNew)")
    }

    /// Cuts at random moments while the daemon works through a batch of every
    /// kind (12 cuts over 16 jobs, `make torture` only): after each, before any
    /// recovery, every acknowledged job is in the spool and anything under an
    /// output's name is whole; in the end every job completes.
    func testCutsAtRandomMomentsLoseNothingAndShowNothingPartial() throws {
        let cuts = 12
        let b = batch()
        try #"{"maxAttempts": 100}"#.write(toFile: mnt + "/spool/settings.json", atomically: true, encoding: .utf8)
        let entries = try b.writeJobs(16)
        let s = try h.run(["submit"] + entries.map(\.file))
        XCTAssertEqual(s.status, 0, s.stderr)
        let ids = s.lines
        var generator = SystemRandomNumberGenerator()
        var seenWhole = 0
        for cut in 1...cuts {
            try startDaemon()
            usleep(UInt32.random(in: 200_000...1_500_000, using: &generator))
            try powerCut()
            var found = 0
            for state in ["queue", "running", "done"] { found += h.files(in: "mnt/spool/" + state).count }
            XCTAssertEqual(found, ids.count, "cut \(cut): every acknowledged job is somewhere in the spool")
            for e in entries where FileManager.default.fileExists(atPath: h.path(e.output)) {
                if let p = try b.problem(with: e) { XCTFail("cut \(cut): a partial output under its name: " + p) } else { seenWhole += 1 }
            }
        }
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 0, d.stderr)
        try b.assertAllCompletedAndWhole(entries, ids: ids, "after \(cuts) cuts")
        print("power cuts: \(cuts) cuts across \(ids.count) jobs of every kind; \(seenWhole) outputs found whole after the cuts, none partial; all completed")
    }
}
