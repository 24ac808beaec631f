import Foundation
import XCTest

/// The fairness limits on a shared spool (issue 5): counted by the submitting
/// uid, refused by a member's `submit` with exit 75, and again by the daemon at
/// take-in for a job dropped by hand past a limit (it fails with `user-limit`).
/// The fixtures (users, setpriv) are SharedSpoolTests'.
extension SharedSpoolTests {
    private func limits(_ extra: String) throws {
        try #"{"sharedGroup": "\#(SharedSpoolTests.group)", "rescanSeconds": 1, \#(extra)}"#
            .write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    /// Starts the root daemon and waits until it has made `drop/`.
    @discardableResult
    private func startSharedDaemon() throws -> Process {
        let daemon = try h.startDaemon([], stderr: h.dir.appendingPathComponent("daemon.log"))
        let deadline = Date().addingTimeInterval(5)
        while !FileManager.default.fileExists(atPath: h.spool + "/drop") && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: h.spool + "/drop"), "the daemon made drop/")
        return daemon
    }

    /// Waits until the daemon has taken in everything in `drop/`.
    private func awaitTakeIn() {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let left = ((try? FileManager.default.contentsOfDirectory(atPath: h.spool + "/drop")) ?? []).filter { $0.hasSuffix(".json") }
            if left.isEmpty { return }
            usleep(20_000)
        }
        XCTFail("drop/ was never emptied")
    }

    /// `user` writes a stored job straight into `drop/` (a temp, then a rename), bypassing `submit`; returns its id.
    private func dropByHand(as user: String, output: String) throws -> String {
        let micros = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        let id = String(format: "%013llx-%06x", micros, UInt32.random(in: 0..<0xFFFFFF))
        let folder = user == "exportctl-ann" ? "ann" : "bob"
        let job = #"{"id":"\#(id)","kind":"mp3","input":"\#(h.path(folder + "/t.wav"))","output":"\#(h.path(folder + "/" + output))"}"#
        let drop = h.spool + "/drop"
        let r = try run(as: user, in: folder, ["-c", "printf '%s' '\(job)' > \(drop)/.\(id) && mv \(drop)/.\(id) \(drop)/\(id).json"], program: "/bin/sh")
        XCTAssertEqual(r.status, 0, r.stderr)
        return id
    }

    private func tones() throws {
        for (d, u) in [("ann", "exportctl-ann"), ("bob", "exportctl-bob")] {
            try h.makeTone("\(d)/t.wav", seconds: 0.2)
            give("\(d)/t.wav", to: u)
        }
    }

    func testQueuedPerUserAndQueueCapCountTheSubmittingUid() throws {
        try limits(#""maxQueuedPerUser": 2, "queueCap": 4"#)
        try tones()
        XCTAssertEqual(try h.run(["pause"]).status, 0)  // jobs are taken in but none starts
        let daemon = try startSharedDaemon()
        _ = try submit(as: "exportctl-ann", "a1.json", #"{"kind":"mp3","input":"t.wav","output":"a1.mp3"}"#)
        _ = try submit(as: "exportctl-ann", "a2.json", #"{"kind":"mp3","input":"t.wav","output":"a2.mp3"}"#)
        awaitTakeIn()

        // The uid counts, not the "user" the job names.
        let over = try trySubmit(as: "exportctl-ann", "a3.json", #"{"kind":"mp3","input":"t.wav","output":"a3.mp3","user":"someone-else"}"#)
        XCTAssertEqual(over.status, 75, over.stderr)
        XCTAssertEqual(over.stderr, "exportctl: per-user limit maxQueuedPerUser = 2 reached: user 'exportctl-ann' has 2 jobs queued, held or running and this submit adds 1; try again when some have finished\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.spool + "/drop").filter { $0.hasSuffix(".json") }, [], "nothing was dropped")

        // Bypassing submit: the daemon refuses the job at take-in; it fails and its owner sees why.
        let byHand = try dropByHand(as: "exportctl-ann", output: "d.mp3")
        XCTAssertEqual(try waitUntil(byHand, ["failed", "queued"])["state"] as? String, "failed")
        let seen = try run(as: "exportctl-ann", in: "ann", ["status", "--json", byHand])
        XCTAssertEqual(seen.status, 0, seen.stderr)
        let error = try XCTUnwrap(try h.json(seen.stdout)["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "user-limit")
        XCTAssertEqual(error["message"] as? String, "refused at take-in: per-user limit maxQueuedPerUser = 2 reached: user 'exportctl-ann' has 2 jobs queued, held or running and this submit adds 1; try again when some have finished")
        var st = stat()
        XCTAssertEqual(lstat(h.spool + "/failed/\(byHand).json", &st), 0)
        XCTAssertEqual(st.st_uid, uid["exportctl-ann"], "the refused job is still its submitter's")
        XCTAssertEqual(try run(as: "exportctl-bob", in: "bob", ["status", byHand]).status, 77, "and no one else's to see")

        // Bob has an allowance of his own. With the daemon stopped his jobs wait in drop/, and count there:
        // towards the spool-wide cap (which counts everyone's) and towards his own limit.
        kill(daemon.processIdentifier, SIGSTOP)
        defer { kill(daemon.processIdentifier, SIGCONT) }
        _ = try submit(as: "exportctl-bob", "b1.json", #"{"kind":"mp3","input":"t.wav","output":"b1.mp3"}"#)
        _ = try submit(as: "exportctl-bob", "b2.json", #"{"kind":"mp3","input":"t.wav","output":"b2.mp3"}"#)
        let full = try trySubmit(as: "exportctl-bob", "b3.json", #"{"kind":"mp3","input":"t.wav","output":"b3.mp3"}"#)
        XCTAssertEqual(full.status, 75, full.stderr)
        XCTAssertEqual(full.stderr, "exportctl: queue full: 4 jobs waiting (cap 4); try again later\n")
        try limits(#""maxQueuedPerUser": 2"#)
        let bob = try trySubmit(as: "exportctl-bob", "b3.json", #"{"kind":"mp3","input":"t.wav","output":"b3.mp3"}"#)
        XCTAssertEqual(bob.status, 75, bob.stderr)
        XCTAssertTrue(bob.stderr.contains("maxQueuedPerUser = 2 reached: user 'exportctl-bob' has 2 jobs queued"), bob.stderr)
        kill(daemon.processIdentifier, SIGCONT)
        awaitTakeIn()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.spool + "/queue").count, 4)

        // Root submits straight into queue/ and counts as uid 0: the members' jobs are not "jobs without a user" of its own.
        for n in ["r1", "r2", "r3"] { try h.writeJob("\(n).json", #"{"kind":"mp3","input":"ann/t.wav","output":"\#(n).mp3"}"#) }
        XCTAssertEqual(try h.run(["submit", "r1.json", "r2.json"]).status, 0)
        let root = try h.run(["submit", "r3.json"])
        XCTAssertEqual(root.status, 75, root.stderr)
        XCTAssertEqual(root.stderr, "exportctl: per-user limit maxQueuedPerUser = 2 reached: user 'root' has 2 jobs queued, held or running and this submit adds 1; try again when some have finished\n")
    }

    func testRendersPerDayCountTheUidsFinishedRenders() throws {
        try limits(#""maxRendersPerUserPerDay": 2"#)
        try tones()
        try startSharedDaemon()
        var ids: [String] = []
        for n in ["a1", "a2"] {
            try h.writeJob("ann/\(n).json", #"{"kind":"mp3","input":"t.wav","output":"\#(n).mp3"}"#)
            let r = try run(as: "exportctl-ann", in: "ann", ["submit", "--wait", "--timeout", "20", "\(n).json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            ids.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let over = try trySubmit(as: "exportctl-ann", "a3.json", #"{"kind":"mp3","input":"t.wav","output":"a3.mp3"}"#)
        XCTAssertEqual(over.status, 75, over.stderr)
        XCTAssertEqual(over.stderr, "exportctl: per-user limit maxRendersPerUserPerDay = 2 reached: user 'exportctl-ann' had 2 renders in the last 24 hours and has 0 queued, held or running; this submit adds 1; try again later\n")

        let byHand = try dropByHand(as: "exportctl-ann", output: "d.mp3")
        let failed = try waitUntil(byHand, ["failed", "completed"])
        XCTAssertEqual((failed["error"] as? [String: Any])?["code"] as? String, "user-limit")
        XCTAssertTrue(((failed["error"] as? [String: Any])?["message"] as? String ?? "").contains("maxRendersPerUserPerDay = 2 reached"), "\(failed)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.path("ann/d.mp3")), "never rendered")
        _ = try submit(as: "exportctl-bob", "b1.json", #"{"kind":"mp3","input":"t.wav","output":"b1.mp3"}"#)

        // The refused job is no render; a render that finished over 24 hours ago no longer counts.
        let record = h.spool + "/status/\(ids[0]).json"
        let text = try String(contentsOfFile: record, encoding: .utf8)
        let old = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-25 * 3600))
        let aged = text.replacingOccurrences(of: #""finishedAt":"[^"]*""#, with: #""finishedAt":"\#(old)""#, options: .regularExpression)
        XCTAssertNotEqual(aged, text)
        try aged.write(toFile: record, atomically: false, encoding: .utf8)  // in place: still Ann's
        let again = try trySubmit(as: "exportctl-ann", "a4.json", #"{"kind":"mp3","input":"t.wav","output":"a4.mp3"}"#)
        XCTAssertEqual(again.status, 0, again.stderr)
    }
}
