import Foundation
import XCTest

/// `exportctl fsck`: a spool damaged the ways a crash or an operator can
/// damage it is reported, repaired, and then clean.
final class FsckTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.makeTone("talk.wav", seconds: 1)
    }

    override func tearDown() { h?.stopAll() }

    private func submit(_ n: Int) throws -> [String] {
        var files: [String] = []
        for i in 0..<n { files.append(try h.writeJob("j\(i).json", #"{"kind":"mp3","input":"talk.wav","output":"out/o\#(i).mp3"}"#)) }
        let r = try h.run(["submit"] + files)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.lines
    }

    private func move(_ id: String, _ from: String, _ to: String) throws {
        try FileManager.default.moveItem(atPath: "\(h.spool)/\(from)/\(id).json", toPath: "\(h.spool)/\(to)/\(id).json")
    }

    func testDamagedSpoolIsReportedRepairedThenClean() throws {
        XCTAssertEqual(try h.run(["fsck"]).status, 66, "no spool yet")
        let ids = try submit(6)
        XCTAssertEqual(try h.run(["fsck"]).stdout, "\(h.spool): clean\n")

        let fm = FileManager.default
        // 0: an orphan left in running/ by a dead daemon, with its partial output.
        try move(ids[0], "queue", "running")
        try Data("partial".utf8).write(to: URL(fileURLWithPath: h.path("out/.o0.mp3.\(ids[0]).exportctl-tmp")))
        // 1: a completed job whose status record was lost.
        try move(ids[1], "queue", "done")
        // 2: a job in two state directories at once.
        try fm.copyItem(atPath: "\(h.spool)/queue/\(ids[2]).json", toPath: "\(h.spool)/failed/\(ids[2]).json")
        // 3: a cancel request for a queued job no daemon acted on.
        fm.createFile(atPath: "\(h.spool)/cancel/\(ids[3])", contents: nil)
        // A status record of a job that no longer exists, a stale temp, a torn log line, loose permissions.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(h.spool)/status/0000000000002-abcdef.json"))
        let stale = "\(h.spool)/tmp/0000000000003-abcdef"
        fm.createFile(atPath: stale, contents: Data("x".utf8))
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -40 * 3600)], ofItemAtPath: stale)
        let fresh = "\(h.spool)/tmp/0000000000004-abcdef"
        fm.createFile(atPath: fresh, contents: Data("x".utf8))
        try Data(#"{"time":"2026-11-22T10:00:00.000Z","id":"x"}"#.utf8 + [10] + #"{"torn"#.utf8).write(to: URL(fileURLWithPath: h.spool + "/analytics.jsonl"))
        chmod(h.spool + "/queue", 0o755)
        // Not ours: reported, never deleted.
        fm.createFile(atPath: "\(h.spool)/queue/README.txt", contents: nil)

        let check = try h.run(["fsck", "--json"])
        XCTAssertEqual(check.status, 1)
        let found = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [[String: Any]])
        let kinds = found.compactMap { $0["kind"] as? String }
        XCTAssertEqual(Set(kinds), ["orphan", "stray-output-temp", "missing-sidecar", "duplicate", "stale-cancel", "orphan-sidecar",
                                    "stale-temp", "torn-log", "permissions", "unknown-file"], check.stdout)
        XCTAssertTrue(found.allSatisfy { $0["action"] == nil }, "without --repair nothing is changed")
        XCTAssertTrue(fm.fileExists(atPath: "\(h.spool)/running/\(ids[0]).json"))

        let repair = try h.run(["fsck", "--repair"])
        XCTAssertEqual(repair.status, 1, "problems were found (and repaired)")
        XCTAssertTrue(repair.stdout.contains("10 problems repaired") || repair.stdout.contains("problems repaired"), repair.stdout)

        let again = try h.run(["fsck"])
        XCTAssertEqual(again.stdout, "unknown-file: \(h.spool)/queue/README.txt: not a job file; left alone\n\(h.spool): 1 problem found; run with --repair to fix\n")
        XCTAssertTrue(fm.fileExists(atPath: "\(h.spool)/queue/README.txt"))
        try fm.removeItem(atPath: "\(h.spool)/queue/README.txt")
        XCTAssertEqual(try h.run(["fsck"]).status, 0)

        func state(_ id: String) throws -> String? { try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String }
        XCTAssertEqual(try state(ids[0]), "queued", "the orphan is back in the queue")
        XCTAssertFalse(fm.fileExists(atPath: h.path("out/.o0.mp3.\(ids[0]).exportctl-tmp")))
        XCTAssertEqual(try state(ids[1]), "completed")
        XCTAssertEqual(try state(ids[2]), "failed", "the more advanced copy is kept")
        XCTAssertFalse(fm.fileExists(atPath: "\(h.spool)/queue/\(ids[2]).json"))
        XCTAssertEqual(try state(ids[3]), "cancelled")
        XCTAssertFalse(fm.fileExists(atPath: "\(h.spool)/status/0000000000002-abcdef.json"))
        XCTAssertFalse(fm.fileExists(atPath: stale))
        XCTAssertTrue(fm.fileExists(atPath: fresh), "a fresh temp may belong to a submit in progress")
        XCTAssertTrue(try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8).hasSuffix("\n"))
        XCTAssertEqual(try fm.attributesOfItem(atPath: h.spool + "/queue")[.posixPermissions] as? Int, 0o700)
    }

    func testWithADaemonRunningRunningJobsAreNotOrphansAndRepairIsRefused() throws {
        guard FileManager.default.isExecutableFile(atPath: CLIHarness.binDir.appendingPathComponent("exportctl-render").path) else {
            throw XCTSkip("exportctl-render is not built")
        }
        try h.makeTone("long.wav", seconds: 600)
        try h.writeJob("long.json", #"{"kind":"mp3","input":"long.wav","output":"out/long.mp3","bitrate":320}"#)
        let id = try h.run(["submit", "long.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try h.startDaemon()
        _ = try h.waitFor(id) { $0["state"] as? String == "processing" }
        let r = try h.run(["fsck"])
        XCTAssertEqual(r.status, 0, "a job being rendered is not an orphan: \(r.stdout)")
        let rep = try h.run(["fsck", "--repair"])
        XCTAssertEqual(rep.status, 75)
        XCTAssertTrue(rep.stderr.contains("a daemon is running"), rep.stderr)
    }
}
