import Foundation
import XCTest

/// Per-user limits of a shared spool (`maxQueuedPerUser`, `maxRendersPerUserPerDay`):
/// refused at submit with exit 75 and a message naming the limit and its value.
final class UserLimitsTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try "not really audio".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
    }

    override func tearDown() { h?.stopAll() }

    private func settings(_ json: String) throws {
        try json.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    private func job(_ name: String, user: String?) throws -> String {
        let u = user.map { #","user":"\#($0)""# } ?? ""
        return try h.writeJob(name + ".json", #"{"kind":"mp3","input":"in.wav","output":"out/\#(name).mp3"\#(u)}"#)
    }

    func testQueuedAtOncePerUser() throws {
        try settings(#"{"maxQueuedPerUser": 2}"#)
        XCTAssertEqual(try h.run(["submit", try job("a1", user: "ann"), try job("a2", user: "ann")]).status, 0)
        let r = try h.run(["submit", try job("a3", user: "ann")])
        XCTAssertEqual(r.status, 75)
        XCTAssertEqual(r.stderr, "exportctl: per-user limit maxQueuedPerUser = 2 reached: user 'ann' has 2 jobs queued, held or running and this submit adds 1; try again when some have finished\n")
        XCTAssertEqual(try h.run(["submit", try job("b1", user: "bob")]).status, 0, "another user has an allowance of their own")
        // Jobs without a user share one allowance; a batch counts whole.
        let anon = try h.run(["submit", try job("n1", user: nil), try job("n2", user: nil), try job("n3", user: nil)])
        XCTAssertEqual(anon.status, 75)
        XCTAssertTrue(anon.stderr.contains("jobs without a \"user\" has 0 jobs queued, held or running and this submit adds 3"), anon.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.spool + "/queue").count, 3, "nothing of a refused batch is queued")
    }

    func testRendersPerDayCountsTheLogOfTheLast24Hours() throws {
        try settings(#"{"maxRendersPerUserPerDay": 3}"#)
        let first = try h.run(["submit", try job("a1", user: "ann")])
        XCTAssertEqual(first.status, 0, first.stderr)
        let id = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = try h.json(try String(contentsOfFile: h.spool + "/queue/\(id).json", encoding: .utf8))
        let hash = try XCTUnwrap(stored["userHash"] as? String)
        func line(_ id: String, ago: Double, outcome: String) -> String {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let t = f.string(from: Date().addingTimeInterval(-ago))
            return #"{"time":"\#(t)","id":"\#(id)","attempt":1,"event":"finished","kind":"mp3","outcome":"\#(outcome)","user":"\#(hash)","renderSeconds":1.0}"# + "\n"
        }
        try (line("1900000000000-000001", ago: 3600, outcome: "completed") + line("1900000000000-000002", ago: 7200, outcome: "failed")
             + line("1900000000000-000003", ago: 2 * 86400, outcome: "completed"))
            .write(toFile: h.spool + "/analytics.jsonl", atomically: true, encoding: .utf8)
        let r = try h.run(["submit", try job("a2", user: "ann")])
        XCTAssertEqual(r.status, 75)
        XCTAssertEqual(r.stderr, "exportctl: per-user limit maxRendersPerUserPerDay = 3 reached: user 'ann' had 2 renders in the last 24 hours and has 1 queued, held or running; this submit adds 1; try again later\n")
        XCTAssertEqual(try h.run(["submit", try job("b1", user: "bob")]).status, 0)

        try settings(#"{"maxRendersPerUserPerDay": 0}"#)
        let bad = try h.run(["submit", try job("a3", user: "ann")])
        XCTAssertEqual(bad.status, 78)
        XCTAssertTrue(bad.stderr.contains(#""maxRendersPerUserPerDay": expected a whole number ≥ 1 or null"#), bad.stderr)
    }
}
