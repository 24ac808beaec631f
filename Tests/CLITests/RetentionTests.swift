import Foundation
import XCTest

/// `exportctl gc` and the daemon's own sweep: finished jobs' records expire,
/// outputs only with keepOutputFor and only when still the job's own, stale
/// temps go, and queued or running jobs are never touched.
final class RetentionTests: XCTestCase {
    var h: CLIHarness!
    let day = 86400.0

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.useFakeRenderer()
    }

    override func tearDown() { h?.stopAll() }

    private func gc(_ args: [String]) throws -> [[String: Any]] {
        let r = try h.run(["gc", "--json"] + args)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], r.stdout)
    }

    func testDryRunListsExactlyWhatGcThenRemoves() throws {
        try h.writeSettings(#"{"gcInterval": null}"#)
        let old = try h.submitMP3("old.mp3"), recent = try h.submitMP3("recent.mp3")
        let failed = try h.submitMP3("fail.mp3"), cancelled = try h.submitMP3("never.mp3")
        XCTAssertEqual(try h.run(["cancel", cancelled]).status, 0)
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 0, d.stderr)
        let queued = try h.submitMP3("queued.mp3"), running = try h.submitMP3("running.mp3")
        try FileManager.default.moveItem(atPath: "\(h.spool)/queue/\(running).json", toPath: "\(h.spool)/running/\(running).json")

        try h.setFinished(old, secondsAgo: 8 * day)
        try h.setFinished(recent, secondsAgo: 6 * day)
        try h.setFinished(failed, secondsAgo: 10 * day)
        try h.setFinished(cancelled, secondsAgo: 31 * day)
        // Queued and running jobs look ancient: still never touched.
        try h.setModified("\(h.spool)/queue/\(queued).json", secondsAgo: 400 * day)
        try h.setModified("\(h.spool)/running/\(running).json", secondsAgo: 400 * day)
        let staleTemp = "\(h.spool)/tmp/0000000000003-abcdef", freshTemp = "\(h.spool)/tmp/0000000000004-abcdef"
        FileManager.default.createFile(atPath: staleTemp, contents: Data("x".utf8))
        FileManager.default.createFile(atPath: freshTemp, contents: Data("x".utf8))
        try h.setModified(staleTemp, secondsAgo: 40 * 3600)

        let expected: Set<String> = ["\(h.spool)/done/\(old).json", "\(h.spool)/status/\(old).json",
                                     "\(h.spool)/cancelled/\(cancelled).json", "\(h.spool)/status/\(cancelled).json", staleTemp]
        let everything = expected.union(["\(h.spool)/done/\(recent).json", "\(h.spool)/failed/\(failed).json",
                                         "\(h.spool)/queue/\(queued).json", "\(h.spool)/running/\(running).json", freshTemp,
                                         h.path("out/old.mp3"), h.path("out/recent.mp3")])

        let dry = try gc(["--dry-run"])
        XCTAssertEqual(Set(dry.compactMap { $0["path"] as? String }), expected, "\(dry)")
        XCTAssertEqual(dry.first { ($0["path"] as? String)?.hasSuffix("done/\(old).json") == true }?["reason"] as? String,
                       "the record of a job completed 8d ago (keepCompletedFor 7d)")
        for p in everything { XCTAssertTrue(h.exists(p), "--dry-run removed \(p)") }
        let text = try h.run(["gc", "--dry-run"])
        XCTAssertTrue(text.stdout.contains("would remove \(h.spool)/done/\(old).json: the record of a job completed 8d ago"), text.stdout)
        XCTAssertTrue(text.stdout.hasSuffix("5 files would be removed; run without --dry-run to remove them\n"), text.stdout)

        let real = try gc([])
        XCTAssertEqual(Set(real.compactMap { $0["path"] as? String }), expected, "the real run removes what the dry run listed")
        for p in expected { XCTAssertFalse(h.exists(p), "\(p) not removed") }
        for p in everything.subtracting(expected) { XCTAssertTrue(h.exists(p), "\(p) removed") }
        XCTAssertEqual(try h.run(["status", old]).status, 66, "an expired job is gone")
        XCTAssertEqual(try h.run(["status", "--json", recent]).status, 0)
        XCTAssertEqual(try gc([]).count, 0, "nothing left to remove")
        XCTAssertEqual(try h.run(["gc"]).stdout, "\(h.spool): nothing to remove\n")
    }

    func testKeepOutputForRemovesOnlyUnchangedOutputs() throws {
        try h.writeSettings(#"{"gcInterval": null, "keepOutputFor": "1d", "keepFailedFor": null}"#)
        let same = try h.submitMP3("same.mp3"), resized = try h.submitMP3("resized.mp3")
        let touched = try h.submitMP3("touched.mp3"), linked = try h.submitMP3("linked.mp3"), young = try h.submitMP3("young.mp3")
        let failed = try h.submitMP3("fail.mp3")
        XCTAssertEqual(try h.run(["daemon", "--once"]).status, 0)
        for id in [same, resized, touched, linked, failed] { try h.setFinished(id, secondsAgo: 2 * day) }
        try h.setFinished(young, secondsAgo: 3600)
        // The outputs were written before their jobs ended.
        for name in ["same", "resized", "linked", "fail"] where h.exists(h.path("out/\(name).mp3")) {
            try h.setModified(h.path("out/\(name).mp3"), secondsAgo: 2 * day + 60)
        }
        try h.setModified(h.path("out/young.mp3"), secondsAgo: 3660)
        // Someone else's file now under the name: a different size, a newer write, a symlink.
        try "a much longer file".write(toFile: h.path("out/resized.mp3"), atomically: false, encoding: .utf8)
        try h.setModified(h.path("out/resized.mp3"), secondsAgo: 2 * day + 60)
        try "ID3fake".write(toFile: h.path("out/touched.mp3"), atomically: false, encoding: .utf8)
        try "ID3keep".write(toFile: h.path("precious"), atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: h.path("out/linked.mp3"))
        try FileManager.default.createSymbolicLink(atPath: h.path("out/linked.mp3"), withDestinationPath: h.path("precious"))
        try h.setModified(h.path("precious"), secondsAgo: 2 * day + 60)  // would match, were the link followed

        let dry = try gc(["--dry-run"])
        XCTAssertEqual(dry.map { $0["path"] as? String }, [h.path("out/same.mp3")], "\(dry)")
        XCTAssertEqual(dry.first?["kind"] as? String, "output")
        XCTAssertTrue(h.exists(h.path("out/same.mp3")))
        XCTAssertEqual(try gc([]).map { $0["path"] as? String }, [h.path("out/same.mp3")])
        XCTAssertFalse(h.exists(h.path("out/same.mp3")))
        for name in ["resized.mp3", "touched.mp3", "linked.mp3", "young.mp3"] { XCTAssertTrue(h.exists(h.path("out/" + name)), name) }
        XCTAssertEqual(try String(contentsOfFile: h.path("precious"), encoding: .utf8), "ID3keep")
        let s = try h.json(try h.run(["status", "--json", same]).stdout)
        XCTAssertEqual(s["state"] as? String, "completed", "the record outlives its output (keepCompletedFor 7d)")
    }

    func testKeepOutputForRemovesACarouselFolderOnlyWhenItHoldsJustTheJobsFiles() throws {
        // A stand-in renderer that writes a two-slide carousel folder (4 + 5 + 2 bytes).
        let script = """
        #!/bin/sh
        case "$1" in --check) echo '{"event":"check","ok":true}'; exit 0;; esac
        mkdir "$2" && printf 'PNG1' > "$2/01.png" && printf 'PNG22' > "$2/02.png" && printf '{}' > "$2/manifest.json"
        echo '{"event":"result","bytes":11,"slides":2}'
        """
        try script.write(toFile: h.path("fake-render"), atomically: true, encoding: .utf8)
        chmod(h.path("fake-render"), 0o755)
        try h.writeSettings(#"{"gcInterval": null, "keepOutputFor": "1d"}"#)
        var ids: [String] = []
        for name in ["plain", "extra"] {
            try h.writeJob("\(name).json", #"{"kind":"carousel","output":"out/\#(name)","size":"portrait","slides":[{"text":"one"},{"text":"two"}]}"#)
            let r = try h.run(["submit", "\(name).json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            ids.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertEqual(try h.run(["daemon", "--once"]).status, 0)
        // Someone added a link into one folder: not only the job's files any more.
        try FileManager.default.createSymbolicLink(atPath: h.path("out/extra/03.png"), withDestinationPath: h.path("in.wav"))
        for (id, name) in zip(ids, ["plain", "extra"]) {
            try h.setFinished(id, secondsAgo: 2 * day)
            for f in try FileManager.default.contentsOfDirectory(atPath: h.path("out/\(name)")) where f != "03.png" {
                try h.setModified(h.path("out/\(name)/\(f)"), secondsAgo: 2 * day + 60)
            }
        }
        XCTAssertEqual(try gc([]).map { $0["path"] as? String }, [h.path("out/plain")])
        XCTAssertFalse(h.exists(h.path("out/plain")), "the folder and its slides are gone")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.path("out/extra")).sorted(), ["01.png", "02.png", "03.png", "manifest.json"])
    }

    func testAnExpiredJobTakesItsIdempotencyKeyWithIt() throws {
        try h.writeSettings(#"{"gcInterval": null}"#)
        try "not really audio".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
        try h.writeJob("k.json", #"{"kind":"mp3","input":"in.wav","output":"out/k.mp3","idempotencyKey":"episode-1"}"#)
        let id = try h.run(["submit", "k.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try h.run(["daemon", "--once"]).status, 0)
        try h.setFinished(id, secondsAgo: 8 * day)
        let removed = try gc([])
        XCTAssertEqual(removed.filter { ($0["path"] as? String)?.contains("/keys/") == true }.count, 1, "\(removed)")
        let fsck = try h.run(["fsck"])
        XCTAssertEqual(fsck.status, 0, "no stale key left behind: " + fsck.stdout)
        try FileManager.default.removeItem(atPath: h.path("out/k.mp3"))
        let again = try h.run(["submit", "k.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotEqual(again, id, "the key is free again")
    }

    func testDaemonSweepsPeriodicallyWithoutTouchingTheRunningJob() throws {
        try h.writeSettings(#"{"gcInterval": "1s", "keepCompletedFor": "1h", "rescanSeconds": 1}"#)
        let done = try h.submitMP3("first.mp3")
        let log = h.path("daemon.log")
        _ = try h.startDaemon(stderr: URL(fileURLWithPath: log))
        _ = try h.waitFor(done) { $0["state"] as? String == "completed" }
        let slow = try h.submitMP3("slow.mp3")
        _ = try h.waitFor(slow) { $0["state"] as? String == "processing" }
        try h.setModified("\(h.spool)/running/\(slow).json", secondsAgo: 400 * day)
        XCTAssertEqual(try gc([]).count, 0, "gc beside a running daemon leaves the job in hand alone")
        try h.setFinished(done, secondsAgo: 2 * 3600)
        let deadline = Date().addingTimeInterval(5)
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        while (h.exists("\(h.spool)/status/\(done).json") || !logText().contains("gc: removed record: \(h.spool)/status/"))
            && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(h.exists("\(h.spool)/done/\(done).json"), "the daemon's sweep removed the expired record")
        XCTAssertFalse(h.exists("\(h.spool)/status/\(done).json"))
        XCTAssertTrue(logText().contains("gc: removed record: \(h.spool)/done/\(done).json"), logText())
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", slow]).status, 0, "the running job went on")
    }

    /// The daemon sweeps a slice (10 ms) per turn of its loop, so a sweep of thousands of
    /// records does not hold up a job submitted meanwhile. Unsliced, a sweep of these 2,000 records
    /// took about 0.9 s (debug build), and jobs submitted during one waited for its end.
    func testTheSweepOfAManyRecordSpoolDoesNotHoldUpNewJobs() throws {
        try h.writeSettings(#"{"gcInterval": "1s"}"#)
        let model = try h.submitMP3("model.mp3")
        XCTAssertEqual(try h.run(["daemon", "--once"]).status, 0)
        let job = try String(contentsOfFile: "\(h.spool)/done/\(model).json", encoding: .utf8).components(separatedBy: model)
        let record = try String(contentsOfFile: "\(h.spool)/status/\(model).json", encoding: .utf8).components(separatedBy: model)
        // 2,000 finished jobs, young (kept), and 3 that expired: proof that sweeps ran.
        var expired: [String] = []
        for i in 0..<2001 {
            let id = String(format: "%013llx-%06x", 0x60000_0000_0000 + UInt64(i) * 1000, i)
            for (dir, parts) in [("done", job), ("status", record)] {
                let f = try XCTUnwrap(fopen("\(h.spool)/\(dir)/\(id).json", "w"))
                XCTAssertEqual(fputs(parts.joined(separator: id), f) >= 0 && fclose(f) == 0, true)
            }
            if i % 1000 == 0 { try h.setFinished(id, secondsAgo: 8 * day); expired.append(id) }
        }
        let log = h.path("daemon.log")
        _ = try h.startDaemon(stderr: URL(fileURLWithPath: log))
        // Past its start-up recovery, which reads every record once (seconds, in a debug build).
        h.waitUntil("the daemon watching", timeout: 30) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(" watching ") }
        var ids: [String] = []
        for _ in 0..<20 {
            ids.append(try h.submitMP3("j\(ids.count).mp3"))
            usleep(100_000)
        }
        for id in ids { XCTAssertEqual(try h.run(["wait", "--timeout", "20", id]).status, 0) }
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        for id in expired { XCTAssertFalse(h.exists("\(h.spool)/done/\(id).json"), "a sweep ran and removed \(id): \(logText)") }

        // Each job's wait: its `queued` event (submit) to its first `processing` (the daemon's claim).
        var queued: [String: Date] = [:], started: [String: Date] = [:]
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for line in try String(contentsOfFile: "\(h.spool)/events.jsonl", encoding: .utf8).split(separator: "\n") {
            let e = try h.json(String(line))
            guard let id = e["id"] as? String, let t = (e["time"] as? String).flatMap(f.date(from:)) else { continue }
            if e["state"] as? String == "queued" { queued[id] = t }
            if e["state"] as? String == "processing", started[id] == nil { started[id] = t }
        }
        let waits = ids.compactMap { id in started[id].flatMap { s in queued[id].map { s.timeIntervalSince($0) } } }.sorted()
        XCTAssertEqual(waits.count, ids.count)
        XCTAssertLessThan(waits.last ?? 99, 0.3, "submit → processing while sweeps ran (s): \(waits)")
    }
}
