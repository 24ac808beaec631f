import Foundation
import XCTest

/// Priorities, notBefore, hold and release, through the built binary with a
/// stand-in renderer.
final class SchedulingTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.writeSettings(#"{"rescanSeconds": 1, "retryBackoffSeconds": 0.1}"#)
        try h.installFakeRenderer()
    }

    override func tearDown() { h?.stopAll() }

    func testStatusReadsOnlyTheJobFilesThatCanChangeItsPlace() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else { throw XCTSkip("strace is not installed") }
        let names = try (0..<300).map { i in try h.writeJob("j\(i).json", #"{"kind":"mp3","input":"in.wav","output":"out/\#(i).mp3"}"#) }
        let plain = try h.run(["submit"] + names)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let ids = plain.lines
        let urgent = try h.submitJob("\"priority\": 3")
        let later = try h.submitJob("\"notBefore\": \"2099-01-01T00:00:00Z\"")
        XCTAssertEqual(h.files(in: "spool/scheduled").sorted(), [urgent, later].sorted(), "only jobs with a schedule of their own are marked")

        let trace = h.path("status.trace")
        let traced = try h.run(["status", "--json", ids[150]], under: ["/usr/bin/strace", "-f", "-o", trace, "-e", "trace=open,openat"])
        let s = try h.json(traced.stdout)
        XCTAssertEqual(s["position"] as? Int, 152, "behind the priority-3 job and 150 earlier ones; the notBefore job has no place")
        XCTAssertEqual(try h.status(later)["state"] as? String, "deferred")
        XCTAssertEqual(try h.status(urgent)["position"] as? Int, 1)
        let opened = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("/queue/") && $0.contains(".json") && !$0.contains("ENOENT") }
        // Its own file, and the nearest jobs ahead for its ETA (QueueForecast.sampled, 16); not all 300.
        XCTAssertLessThanOrEqual(opened.count, 20, "status opened \(opened.count) queued job files:\n" + opened.prefix(5).joined(separator: "\n"))
    }

    /// `status ID` counts the jobs ahead in one pass (`QueuePlace`); `list` orders the whole queue
    /// (`QueueSnapshot`). Both must give every job the same place, whatever makes it differ.
    func testStatusAndListAgreeOnEveryPosition() throws {
        var ids: [String] = []
        for (i, extra) in ["", "\"priority\": 2", "", "\"notBefore\": \"2099-01-01T00:00:00Z\"", "\"priority\": -1", "",
                            "\"priority\": 2", "\"notBefore\": \"2000-01-01T00:00:00Z\"", "", "\"priority\": 7"].enumerated() {
            ids.append(try h.submitJob(extra, output: "out/\(i).mp3"))
        }
        XCTAssertEqual(try h.run(["priority", ids[5], "2"]).status, 0)
        XCTAssertEqual(try h.run(["priority", ids[9], "-5"]).status, 0)
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try h.run(["list", "--json"]).stdout.utf8)) as? [[String: Any]])
        var listed: [String: Int] = [:]
        for r in list { if let id = r["id"] as? String, let p = r["position"] as? Int { listed[id] = p } }
        XCTAssertEqual(listed.count, 9, "all but the future notBefore job have a place")
        for id in ids {
            XCTAssertEqual(try h.status(id)["position"] as? Int, listed[id], "position of \(id)")
        }
        // priority 2: ids 1, 5 (changed), 6; then 0: 0, 2, 7 (its notBefore passed), 8; then -1: 4; then -5: 9 (changed).
        XCTAssertEqual([1, 5, 6, 0, 2, 7, 8, 4, 9].map { listed[ids[$0]] }, Array(1...9))
    }

    func testPriorityOrderPositionAndAChangeWhileQueued() throws {
        let ids = try [0, 5, 0, 10, -1].map { try h.submitJob($0 == 0 ? "" : "\"priority\": \($0)") }
        // Higher first, FIFO within a priority.
        let expected = [ids[3], ids[1], ids[0], ids[2], ids[4]]
        for (i, id) in expected.enumerated() {
            let s = try h.status(id)
            XCTAssertEqual(s["state"] as? String, "queued")
            XCTAssertEqual(s["position"] as? Int, i + 1, "position of \(id)")
        }
        XCTAssertTrue(try h.run(["status", ids[3]]).stdout.contains("position 1 priority 10"))

        // The last one jumps to the front; a negative number is a priority, not an option.
        let r = try h.run(["priority", ids[4], "20"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "\(ids[4]) priority 20\n")
        XCTAssertEqual(try h.status(ids[4])["position"] as? Int, 1)
        XCTAssertEqual(try h.status(ids[4])["priority"] as? Int, 20)
        XCTAssertEqual(try h.run(["priority", ids[1], "-3"]).status, 0)
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try h.run(["list", "--json"]).stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(list.sorted { ($0["position"] as! Int) < ($1["position"] as! Int) }.map { $0["id"] as! String },
                       [ids[4], ids[3], ids[0], ids[2], ids[1]], "list shows the same order")

        XCTAssertEqual(try h.run(["priority", ids[0], "1001"]).status, 64)
        XCTAssertTrue(try h.run(["priority", ids[0], "1001"]).stderr.contains("-1000…1000"))

        _ = try h.startDaemon(["--once"])
        XCTAssertTrue(h.eventually { h.files(in: "spool/done").count == 5 })
        XCTAssertEqual(h.renders().map(\.id), [ids[4], ids[3], ids[0], ids[2], ids[1]], "the daemon starts them in that order")
        XCTAssertEqual(h.files(in: "spool/priority"), [], "a finished job's priority file is removed")
        XCTAssertEqual(h.files(in: "spool/scheduled"), [], "a finished job's schedule mark is removed")

        let done = try h.run(["priority", ids[0], "3"])
        XCTAssertEqual(done.status, 1)
        XCTAssertTrue(done.stderr.contains("\(ids[0]) is completed; only queued, deferred or held jobs"), done.stderr)
        XCTAssertEqual(try h.run(["priority", "0000000000001-abcdef", "3"]).status, 66)

        // A priority file left for a finished job (a crash between the two) is found and removed.
        try "7\n".write(toFile: h.spool + "/priority/" + ids[0], atomically: false, encoding: .utf8)
        let found = try h.run(["fsck"])
        XCTAssertEqual(found.status, 1)
        XCTAssertTrue(found.stdout.contains("stale-priority: \(h.spool)/priority/\(ids[0]): a priority for a job that is completed"), found.stdout)
        XCTAssertEqual(try h.run(["fsck", "--repair"]).status, 1)
        XCTAssertEqual(h.files(in: "spool/priority"), [])
        XCTAssertEqual(try h.run(["fsck"]).status, 0)
    }

    /// `priority` racing the daemon's claims: the job file is never rewritten,
    /// so a job is never rendered twice, lost, or put back after its claim.
    func testPriorityChangesRacingTheDaemonNeverLoseOrDuplicateAJob() throws {
        let n = 30
        var files: [String] = []
        for i in 0..<n { files.append(try h.writeJob("r\(i).json", #"{"kind":"mp3","input":"in.wav","output":"out/r\#(i).mp3"}"#)) }
        let s = try h.run(["submit"] + files)
        XCTAssertEqual(s.status, 0, s.stderr)
        let ids = s.lines
        _ = try h.startDaemon()
        var changed = 0, late = 0
        // Keep raising the last jobs' priorities while the daemon claims them.
        for round in 0..<3 {
            for (i, id) in ids.enumerated().reversed() {
                let r = try h.run(["priority", id, String(round * 100 + i)])
                switch r.status {
                case 0: changed += 1
                case 1:
                    late += 1
                    XCTAssertTrue(r.stderr.contains("is processing; it started before its priority could change") || r.stderr.contains("is completed"), r.stderr)
                default: XCTFail("priority exited \(r.status): \(r.stderr)")
                }
            }
        }
        XCTAssertTrue(h.eventually(timeout: 20) { h.files(in: "spool/done").count == n })
        let rendered = h.renders().map(\.id)
        XCTAssertEqual(rendered.count, n, "each job rendered once: \(rendered)")
        XCTAssertEqual(Set(rendered), Set(ids))
        XCTAssertEqual(h.files(in: "spool/queue"), [])
        XCTAssertEqual(h.files(in: "spool/running"), [])
        XCTAssertEqual(h.files(in: "spool/priority"), [], "no priority left for a finished job")
        let log = try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, n, "one analytics line per job")
        XCTAssertGreaterThan(changed, 0)
        print("priority race: \(changed) changes while queued, \(late) too late")
    }

    func testHoldAndReleaseAcrossADaemonRestart() throws {
        let a = try h.submitJob(), b = try h.submitJob()
        let held = try h.run(["hold", a])
        XCTAssertEqual(held.status, 0, held.stderr)
        XCTAssertEqual(held.stdout, "\(a) held\n")
        XCTAssertEqual(try h.run(["hold", a]).stdout, "\(a) held (already)\n")
        XCTAssertEqual(try h.status(a)["state"] as? String, "held")
        XCTAssertNil(try h.status(a)["position"])
        XCTAssertEqual(try h.status(b)["position"] as? Int, 1, "a held job is not counted ahead")

        var d = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", b]).status, 0)
        usleep(300_000)
        XCTAssertEqual(try h.status(a)["state"] as? String, "held")
        d.terminate(); d.waitUntilExit()
        d = try h.startDaemon()
        usleep(500_000)
        let list = try h.run(["list", "--state", "held"])
        XCTAssertTrue(list.stdout.hasPrefix("\(a)  held"), list.stdout)
        XCTAssertEqual(h.renders().map(\.id), [b], "the held job did not start after the restart")

        let released = try h.run(["release", a])
        XCTAssertEqual(released.stdout, "\(a) queued\n")
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", a]).status, 0)
        XCTAssertTrue(d.isRunning)

        let again = try h.run(["release", a])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("\(a) is completed; only held jobs can be released"), again.stderr)
        let hold = try h.run(["hold", a, b])
        XCTAssertEqual(hold.status, 1)
        XCTAssertTrue(hold.stderr.contains("only queued or deferred jobs can be held"), hold.stderr)
    }

    func testAHeldJobCanBeCancelled() throws {
        let a = try h.submitJob()
        XCTAssertEqual(try h.run(["hold", a]).status, 0)
        XCTAssertEqual(try h.run(["cancel", a]).stdout, "\(a) cancelled\n")
        let s = try h.status(a)
        XCTAssertEqual(s["state"] as? String, "cancelled")
        XCTAssertEqual((s["error"] as? [String: Any])?["message"] as? String, "cancelled while held")
    }

    func testNotBeforeDefersAJobUntilItsTime() throws {
        let at = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 1.5).rounded(.up))  // the formatter writes whole seconds
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(secondsFromGMT: 3600)
        let late = try h.submitJob(#""notBefore": "\#(f.string(from: at))""#)
        let now = try h.submitJob()
        let s = try h.status(late)
        XCTAssertEqual(s["state"] as? String, "deferred")
        XCTAssertTrue((s["deferredReason"] as? String ?? "").contains("notBefore"), "\(s)")
        XCTAssertNotNil(s["notBefore"])
        XCTAssertEqual(try h.status(now)["position"] as? Int, 1)
        XCTAssertTrue(try h.run(["list", "--state", "deferred"]).stdout.hasPrefix("\(late)  deferred"))
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", late, now]).status, 0)
        let r = h.renders()
        XCTAssertEqual(r.map(\.id), [now, late])
        XCTAssertGreaterThanOrEqual(r[1].at, at.timeIntervalSince1970 - 0.01, "not started before notBefore")
        XCTAssertLessThan(r[1].at, at.timeIntervalSince1970 + 1.5, "started soon after it")
    }

    func testSchedulingFieldsAreCheckedAtSubmit() throws {
        let cases: [(String, String)] = [
            (#""attempts": 0"#, #""attempts": expected a whole number 1…100"#),
            (#""attempts": 2.5"#, #""attempts": expected a whole number 1…100"#),
            (#""backoff": -1"#, #""backoff": expected a number of seconds 0…900"#),
            (#""timeout": "long""#, #""timeout": expected a number of seconds greater than 0"#),
            (#""timeout": 0"#, #""timeout": expected a number of seconds greater than 0"#),
            (#""retryOnTimeout": "yes""#, #""retryOnTimeout": expected true or false"#),
            (#""priority": 1.5"#, #""priority": expected a whole number -1000…1000"#),
            (#""priority": 5000"#, #""priority": expected a whole number -1000…1000"#),
            (#""notBefore": "tomorrow""#, #""notBefore": 'tomorrow' is not an ISO 8601 time"#),
            (#""notBefore": "2026-12-01T10:00:00""#, #""notBefore": '2026-12-01T10:00:00' is not an ISO 8601 time"#),
            (#""notBefore": "2026-02-30T10:00:00Z""#, #""notBefore": '2026-02-30T10:00:00Z' is not an ISO 8601 time"#),
        ]
        for (extra, message) in cases {
            try h.writeJob("bad.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3", "# + extra + "}")
            let r = try h.run(["submit", "bad.json"])
            XCTAssertEqual(r.status, 65, extra)
            XCTAssertTrue(r.stderr.contains("bad.json: " + message), "\(extra): \(r.stderr)")
        }
        XCTAssertEqual(h.files(in: "spool/queue"), [])
        let ok = try h.submitJob(#""attempts": 5, "backoff": 2, "timeout": 60, "retryOnTimeout": true, "priority": -2, "notBefore": "2020-01-01T00:00:00.5+02:00""#)
        let stored = try String(contentsOfFile: h.spool + "/queue/\(ok).json", encoding: .utf8)
        for member in [#""attempts":5"#, #""backoff":2"#, #""timeout":60"#, #""retryOnTimeout":true"#, #""priority":-2"#, #""notBefore":"2019-12-31T22:00:00.500Z""#] {
            XCTAssertTrue(stored.replacingOccurrences(of: " ", with: "").contains(member), "\(member) in \(stored)")
        }
        XCTAssertEqual(try h.status(ok)["state"] as? String, "queued", "a notBefore in the past does not delay")
    }
}
