import Foundation
import XCTest

/// The job's own `attempts`, `backoff`, `timeout` and `retryOnTimeout`, the
/// jitter of the backoff, the history of attempts, and `exportctl retry`.
final class RetryPolicyTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        // The spool allows one attempt: any retry below comes from the job's own fields.
        try h.writeSettings(#"{"maxAttempts": 1, "retryBackoffSeconds": 30, "rescanSeconds": 1}"#)
    }

    override func tearDown() { h?.stopAll() }

    private let transient = #"echo '{"event":"error","code":"io","message":"write: No space left on device","transient":true}'; exit 75"#

    func testJobFieldsRetryTwiceThenSucceedKeepingEachAttemptsError() throws {
        try h.installFakeRenderer(before: "if [ $n -lt 3 ]; then \(transient); fi")
        let id = try h.submitJob(#""attempts": 3, "backoff": 0.3"#)
        _ = try h.startDaemon()
        let deferred = try h.waitFor(id) { $0["state"] as? String == "deferred" }
        XCTAssertNotNil(deferred["nextAttemptAt"] as? String)
        XCTAssertTrue((deferred["deferredReason"] as? String ?? "").hasPrefix("attempt 1 of 3 failed (io); next attempt at "), "\(deferred)")
        XCTAssertEqual(try h.run(["status", id]).stdout.contains("deferred    attempt 1 of 3 failed (io)"), true)
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", id]).status, 0)
        let s = try h.status(id)
        XCTAssertEqual(s["state"] as? String, "completed")
        XCTAssertEqual(s["attempts"] as? Int, 3)
        let history = try XCTUnwrap(s["history"] as? [[String: Any]])
        XCTAssertEqual(history.map { $0["attempt"] as? Int }, [1, 2])
        XCTAssertEqual(history.map { $0["code"] as? String }, ["io", "io"])
        XCTAssertEqual(history.first?["message"] as? String, "write: No space left on device")
        XCTAssertNotNil(history.first?["at"] as? String)
        let starts = h.renders().map(\.at)
        XCTAssertEqual(starts.count, 3)
        XCTAssertGreaterThanOrEqual(starts[1] - starts[0], 0.15, "the job's backoff, halved at most by jitter")
        XCTAssertLessThan(starts[1] - starts[0], 1.5, "not the spool's 30 s")
    }

    /// Eight jobs fail together; each waits between half the backoff and all of it, and not all the same.
    func testBackoffIsJitteredBetweenHalfAndAllOfTheDelay() throws {
        try h.installFakeRenderer(before: transient)
        let ids = try (0..<8).map { _ in try h.submitJob(#""attempts": 2, "backoff": 20"#) }
        _ = try h.startDaemon()
        XCTAssertTrue(try h.eventually { try h.renders().count == 8 && ids.allSatisfy { try h.status($0)["state"] as? String == "deferred" } })
        var delays: [Double] = []
        for id in ids {
            let s = try h.status(id)
            let failedAt = try XCTUnwrap(((s["history"] as? [[String: Any]])?.last?["at"] as? String).flatMap(parse))
            let next = try XCTUnwrap((s["nextAttemptAt"] as? String).flatMap(parse))
            delays.append(next - failedAt)
        }
        for d in delays { XCTAssertTrue((9.999...20.001).contains(d), "delay \(d) outside 10…20 s") }
        XCTAssertGreaterThan(Set(delays.map { ($0 * 1000).rounded() }).count, 1, "jittered: \(delays)")
        XCTAssertEqual(try h.run(["cancel"] + ids).status, 0)
    }

    private func parse(_ s: String) -> Double? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s)?.timeIntervalSince1970
    }

    /// The render and what it started are killed at the deadline, the temp removed, the reason recorded.
    func testATimeoutReallyStopsTheRender() throws {
        try h.installFakeRenderer(before: """
            if grep -q long.mp3 "$1"; then
              echo $$ > "\(h.path("pids"))"; sleep 30 & echo $! >> "\(h.path("pids"))"
              printf 'partial' > "$2"; wait
            fi
            """)
        let id = try h.submitJob(#""timeout": 0.5"#, output: "out/long.mp3")
        let next = try h.submitJob()
        _ = try h.startDaemon()
        let start = Date()
        let w = try h.run(["wait", "--timeout", "10", id])
        XCTAssertEqual(w.status, 1)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        let s = try h.status(id)
        XCTAssertEqual(s["state"] as? String, "failed")
        let error = try XCTUnwrap(s["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "timeout")
        XCTAssertEqual(error["message"] as? String, "the render ran longer than the job's timeout of 0.5 s and was stopped (set \"retryOnTimeout\": true to retry it)")
        XCTAssertEqual((s["history"] as? [[String: Any]])?.count, 1)
        XCTAssertEqual(s["attempts"] as? Int, 1)
        let pids = try String(contentsOfFile: h.path("pids"), encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
        XCTAssertEqual(pids.count, 2)
        for pid in pids {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            XCTAssertTrue(stat.isEmpty || state == "Z", "process \(pid) still runs: \(stat)")
        }
        // The partial output beside the output is gone (the mp3 of the next job may be there).
        XCTAssertTrue(h.eventually { !h.files(in: "out").contains { $0.hasPrefix(".long.mp3") } }, "\(h.files(in: "out"))")
        XCTAssertFalse(h.files(in: "out").contains("long.mp3"))
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", next]).status, 0, "the daemon goes on")
    }

    func testATimeoutIsRetriedWhenTheJobAllowsIt() throws {
        try h.installFakeRenderer(before: "if [ $n -eq 1 ]; then exec sleep 30; fi")
        let id = try h.submitJob(#""timeout": 0.4, "retryOnTimeout": true, "attempts": 2, "backoff": 0.1"#)
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", id]).status, 0)
        let s = try h.status(id)
        XCTAssertEqual(s["attempts"] as? Int, 2)
        let history = try XCTUnwrap(s["history"] as? [[String: Any]])
        XCTAssertEqual(history.first?["code"] as? String, "timeout")
        XCTAssertEqual(history.first?["message"] as? String, "the render ran longer than the job's timeout of 0.4 s and was stopped")
    }

    func testRetryRequeuesAFailedJobWithAFreshCountAndItsHistory() throws {
        try h.installFakeRenderer(before: #"if [ $n -eq 1 ]; then echo '{"event":"error","code":"invalid-media","message":"could not open input","transient":false}'; exit 1; fi"#)
        let id = try h.submitJob()
        let d = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", id]).status, 1)
        let r = try h.run(["retry", id])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "\(id) queued\n")
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", id]).status, 0)
        let s = try h.status(id)
        XCTAssertEqual(s["state"] as? String, "completed")
        XCTAssertEqual(s["attempts"] as? Int, 1, "a fresh count")
        XCTAssertEqual(s["earlierAttempts"] as? Int, 1)
        XCTAssertEqual(s["retried"] as? Int, 1)
        let history = try XCTUnwrap(s["history"] as? [[String: Any]])
        XCTAssertEqual(history.map { $0["code"] as? String }, ["invalid-media"], "the first run's error is kept")
        let log = try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8).split(separator: "\n").map { try h.json(String($0)) }
        XCTAssertEqual(log.map { $0["outcome"] as? String }, ["failed", "completed"])
        XCTAssertEqual(log.map { $0["attempt"] as? Int }, [1, 2])

        let again = try h.run(["retry", id])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stderr, "exportctl: \(id) is completed; only failed or cancelled jobs can be retried\n")
        XCTAssertEqual(try h.run(["retry", "0000000000001-abcdef"]).status, 66)

        // A cancelled job too.
        d.terminate(); d.waitUntilExit()
        let c = try h.submitJob()
        XCTAssertEqual(try h.run(["cancel", c]).status, 0)
        let queued = try h.run(["retry", c])
        XCTAssertEqual(queued.stdout, "\(c) queued\n")
        XCTAssertEqual(try h.status(c)["state"] as? String, "queued")
        XCTAssertEqual(try h.run(["retry", c]).status, 1, "a queued job cannot be retried")
    }
}
