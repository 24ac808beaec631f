import Foundation
import XCTest

/// `submit`, `status`, `list`, `cancel` and `wait` without a daemon: validation,
/// exit codes, queue order and the all-or-nothing batch.
final class SubmitCommandTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.makeTone("talk.wav", seconds: 1)
    }

    override func tearDown() { h?.stopAll() }

    func testSubmitPrintsIdAndStatusShowsQueuePosition() throws {
        try h.writeJob("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        try h.writeJob("b.json", #"{"kind":"mp3","input":"talk.wav","output":"out/b.mp3"}"#)
        let r = try h.run(["submit", "a.json", "b.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 2)
        let (a, b) = (r.lines[0], r.lines[1])
        XCTAssertLessThan(a, b, "ids sort by submit time")
        XCTAssertNotNil(a.range(of: #"^[0-9a-f]{13}-[0-9a-f]{6}$"#, options: .regularExpression))

        let sa = try h.json(try h.run(["status", "--json", a]).stdout)
        let sb = try h.json(try h.run(["status", "--json", b]).stdout)
        XCTAssertEqual(sa["state"] as? String, "queued")
        XCTAssertEqual(sa["position"] as? Int, 1)
        XCTAssertEqual(sb["position"] as? Int, 2)
        XCTAssertEqual((sa["output"] as? [String: Any])?["path"] as? String, h.path("out/a.mp3"), "relative paths are resolved at submit")
        XCTAssertEqual(sa["input"] as? String, h.path("talk.wav"))

        let human = try h.run(["status", b])
        XCTAssertTrue(human.stdout.contains("queued") && human.stdout.contains("position 2"), human.stdout)

        let list = try h.run(["list", "--json"])
        let arr = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(arr.map { $0["id"] as? String }, [a, b])
        XCTAssertEqual(try h.run(["list", "--state", "completed"]).stdout, "")
    }

    func testSubmitJsonAndStdin() throws {
        let r = try h.run(["submit", "--json", "-"], stdin: #"{"kind":"mp3","input":"talk.wav","output":"out/s.mp3"}"#)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try h.json(r.stdout)
        XCTAssertEqual(j["file"] as? String, "-")
        XCTAssertNotNil(j["id"] as? String)
    }

    func testUserIsStoredHashedNeverInClear() throws {
        try h.writeJob("u.json", #"{"kind":"mp3","input":"talk.wav","output":"out/u.mp3","user":"user_secret_123"}"#)
        let id = try h.run(["submit", "u.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = try String(contentsOfFile: h.spool + "/queue/\(id).json", encoding: .utf8)
        XCTAssertFalse(stored.contains("user_secret_123"))
        XCTAssertNotNil(stored.range(of: #""userHash":"[0-9a-f]{64}""#, options: .regularExpression), stored)
    }

    func testValidationErrorsNameFileLineColumnOrFieldAndQueueNothing() throws {
        try h.writeJob("syntax.json", "{ \"kind\": \"mp3\",\n  \"input\": \"talk.wav\" \"output\": \"x.mp3\" }")
        var r = try h.run(["submit", "syntax.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr, "exportctl: syntax.json:2:23: expected ',' or '}' (found '\"')\n")

        try h.writeJob("rate.json", #"{"kind":"mp3","input":"talk.wav","output":"out/x.mp3","bitrate":1000}"#)
        r = try h.run(["submit", "rate.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr, "exportctl: rate.json: \"bitrate\": must be one of 32…320 (got 1000)\n")

        try h.writeJob("missing.json", #"{"kind":"mp3","input":"talk.wav.nope","output":"out/x.mp3"}"#)
        r = try h.run(["submit", "missing.json"])
        XCTAssertEqual(r.status, 66)
        XCTAssertEqual(r.stderr, "exportctl: missing.json: \"input\": no such file 'talk.wav.nope'\n")

        try h.writeJob("carousel.json", #"{"kind":"carousel","input":"talk.wav","output":"out/x"}"#)
        r = try h.run(["submit", "carousel.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("\"input\": unknown field"), r.stderr)

        // A batch with one bad file queues nothing.
        try h.writeJob("good.json", #"{"kind":"mp3","input":"talk.wav","output":"out/g.mp3"}"#)
        r = try h.run(["submit", "good.json", "rate.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("nothing was queued"), r.stderr)
        XCTAssertEqual(h.files(in: "spool/queue"), [])

        r = try h.run(["submit", "no-such-job.json"])
        XCTAssertEqual(r.status, 66)
        r = try h.run(["submit", "--bogus-flag", "good.json"])
        XCTAssertEqual(r.status, 64, "usage errors exit 64")
        r = try h.run(["status", "not-an-id"])
        XCTAssertEqual(r.status, 66)
        r = try h.run(["status", "0000000000000-000000"])
        XCTAssertEqual(r.status, 66)
        XCTAssertTrue(r.stderr.contains("no job '0000000000000-000000'"), r.stderr)
    }

    func testQueueCapRefusesWithExit75() throws {
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try #"{"queueCap": 2}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        try h.writeJob("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        XCTAssertEqual(try h.run(["submit", "a.json", "a.json"]).status, 0)
        let r = try h.run(["submit", "a.json"])
        XCTAssertEqual(r.status, 75)
        XCTAssertEqual(r.stderr, "exportctl: queue full: 2 jobs waiting (cap 2); try again later\n")
        XCTAssertEqual(h.files(in: "spool/queue").count, 2)
    }

    func testCancelQueuedJobAndWaitExitCodes() throws {
        try h.writeJob("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        let id = try h.run(["submit", "a.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var r = try h.run(["wait", "--timeout", "0.3", id])
        XCTAssertEqual(r.status, 124, "no daemon: the wait times out")
        XCTAssertTrue(r.stderr.contains("timed out"), r.stderr)

        r = try h.run(["cancel", id])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "\(id) cancelled\n")
        r = try h.run(["cancel", id])
        XCTAssertEqual(r.status, 0, "cancelling twice is fine")
        r = try h.run(["wait", id])
        XCTAssertEqual(r.status, 2, "wait exits 2 for a cancelled job")
        let s = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(s["state"] as? String, "cancelled")
        XCTAssertEqual(h.files(in: "spool/queue"), [])

        let log = try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 1)
        XCTAssertTrue(log.contains(#""outcome":"cancelled""#), log)
        XCTAssertEqual(try h.run(["cancel", "0000000000000-000000"]).status, 66)
    }

    func testGlobalSpoolOptionBeforeOrAfterTheSubcommand() throws {
        let other = h.path("other-spool")
        try h.writeJob("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        let id = try h.run(["--spool", other, "submit", "a.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: other + "/queue/\(id).json"), "--spool beats EXPORTCTL_SPOOL")
        XCTAssertEqual(try h.run(["--spool=\(other)", "status", id]).status, 0)
        XCTAssertEqual(try h.run(["status", "--spool", other, id]).status, 0)
        XCTAssertEqual(try h.run(["status", id]).status, 66, "not in the EXPORTCTL_SPOOL spool")
    }

    func testStatsOnEmptySpool() throws {
        let r = try h.run(["stats", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try h.json(r.stdout)
        XCTAssertEqual(j["total"] as? Int, 0)
        XCTAssertEqual(j["uniqueUsers"] as? Int, 0)
    }
}
