@testable import ExportCore
import Foundation
import XCTest

/// The event log: which record changes make a line, and a follower that keeps
/// reading across a rotation.
final class EventLogTests: XCTestCase {
    var root: String!
    var spool: Spool!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "exportctl-events-\(UUID().uuidString.prefix(8))"
        spool = Spool(root: root + "/spool")
        try spool.create()
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func record(_ id: JobID, progress: Double, stage: String? = "encoding") -> StatusSidecar {
        var r = StatusSidecar(queued: Job(kind: .mp3, input: "/in.wav", output: "/out/o.mp3"), id: id)
        r.state = .processing
        r.attempts = 1
        r.progress = progress
        r.stage = stage
        return r
    }

    func testOnlyChangesWorthALineAreWritten() throws {
        let id = JobID.make()
        let writes: [(Double, String?)] = [(0, "starting"), (0.001, "starting"), (0.004, "encoding"), (0.009, "encoding"), (0.01, "encoding"), (0.5, "encoding"), (0.5049, "encoding")]
        for (p, s) in writes { try record(id, progress: p, stage: s).write(to: spool, durable: false) }
        let follower = EventFollower(spool: spool, fromStart: true)
        let got = follower.read().map { ($0.record.progress, $0.record.stage) }
        XCTAssertEqual(got.map(\.0), [0, 0, 0.01, 0.5], "a new stage, and each whole percent (lines carry whole percents)")
        XCTAssertEqual(got.map(\.1), ["starting", "encoding", "encoding", "encoding"])
    }

    func testAFollowerReadsEveryLineAcrossARotation() throws {
        var log = EventLog(spool: spool)
        log.limit = 4096
        let follower = EventFollower(spool: spool, fromStart: false)
        let id = JobID.make()
        var written = 0
        for _ in 0..<10 { log.append(JobEvent(record: record(id, progress: Double(written) / 100))); written += 1 }
        var seen = follower.read().count
        XCTAssertEqual(seen, 10)
        // Enough for one rotation (about 200 bytes a line) before the follower looks again.
        for _ in 0..<15 { log.append(JobEvent(record: record(id, progress: Double(written) / 100))); written += 1 }
        XCTAssertTrue(FileManager.default.fileExists(atPath: log.rotatedPath), "rotated")
        let after = follower.read()
        seen += after.count
        XCTAssertEqual(seen, written, "the old file read to its end, then the new one from its start")
        XCTAssertEqual(after.map(\.record.progress), (10..<25).map { Double($0) / 100 }, "in order")
        let replay = EventFollower(spool: spool, fromStart: true).read()
        XCTAssertEqual(replay.last?.record.progress, 0.24, "--since reads the rotated file, then the current one")
        XCTAssertLessThan(try Data(contentsOf: URL(fileURLWithPath: log.path)).count, 4096)
    }
}
