@testable import ExportCore
import XCTest

/// The pieces of scheduling that need no daemon: the retry delay and its
/// jitter, the start order, and the ISO 8601 times `notBefore` accepts.
final class SchedulePolicyTests: XCTestCase {
    func testDelayDoublesIsCappedAndIsJitteredBetweenHalfAndAll() {
        var job = Job(kind: .mp3, input: "/in.wav", output: "/out.mp3")
        job.schedule.backoff = 10
        let p = RetryPolicy(job: job, settings: SpoolSettings())
        XCTAssertEqual(p.nominalDelay(afterAttempts: 1), 10)
        XCTAssertEqual(p.nominalDelay(afterAttempts: 3), 40)
        XCTAssertEqual(p.nominalDelay(afterAttempts: 50), 900, "at most 900 s")
        XCTAssertEqual(p.delay(afterAttempts: 2, random: 0), 10)
        XCTAssertEqual(p.delay(afterAttempts: 2, random: 0.5), 15)
        XCTAssertEqual(p.delay(afterAttempts: 2, random: 1), 20)
        for _ in 0..<1000 {
            let r = RetryPolicy.random()
            XCTAssertTrue((0..<1).contains(r))
            XCTAssertTrue((450...900).contains(p.delay(afterAttempts: 50, random: r)))
        }
    }

    func testTheJobsFieldsOverrideTheSpoolsDefaults() {
        var settings = SpoolSettings()
        settings.maxAttempts = 5
        settings.timeoutSeconds = 30
        var job = Job(kind: .mp3, input: "/in.wav", output: "/out.mp3")
        XCTAssertEqual(RetryPolicy(job: job, settings: settings).maxAttempts, 5)
        XCTAssertEqual(RetryPolicy(job: job, settings: settings).timeoutSource, "the spool's timeoutSeconds")
        job.schedule.attempts = 2
        job.schedule.timeout = 4
        let p = RetryPolicy(job: job, settings: settings)
        XCTAssertEqual(p.maxAttempts, 2)
        XCTAssertEqual(p.timeout, 4)
        XCTAssertEqual(p.timeoutSource, "the job's timeout")
    }

    func testPendingQueueStartsByPriorityThenID() {
        var q = PendingQueue()
        let ids = (1...5).map { JobID("000000000000\($0)-abcdef")! }
        q.insert(ids[0], priority: 0)
        q.insert(ids[1], priority: 5)
        q.insert(ids[2], priority: 0)
        q.insert(ids[3], priority: 10)
        q.insert(ids[4], priority: -1)
        q.insert(ids[4], priority: 20)  // moved by a priority change
        q.remove(ids[2])
        var order: [JobID] = []
        while let id = q.popFirst() { order.append(id) }
        XCTAssertEqual(order, [ids[4], ids[3], ids[1], ids[0]])
    }

    func testNotBeforeTimes() {
        XCTAssertEqual(Clock.parseISO8601WithOffset("2026-12-01T18:30:00Z"), 1_796_149_800)
        XCTAssertEqual(Clock.parseISO8601WithOffset("2026-12-01T19:30:00+01:00"), 1_796_149_800)
        XCTAssertEqual(Clock.parseISO8601WithOffset("2026-12-01 13:30-0500"), 1_796_149_800)
        XCTAssertEqual(Clock.parseISO8601WithOffset("2026-12-01T18:30:00.25Z"), 1_796_149_800.25)
        for bad in ["2026-12-01T18:30:00", "2026-12-01", "2026-02-30T00:00:00Z", "2026-12-01T24:00:00Z",
                    "2026-12-01T18:30:00Zjunk", "tomorrow", "2026-12-01T18:30:00+1:00"] {
            XCTAssertNil(Clock.parseISO8601WithOffset(bad), bad)
        }
    }
}
