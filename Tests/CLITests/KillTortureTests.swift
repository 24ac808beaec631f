import Foundation
import XCTest

/// kill -9 of the daemon at random moments across a batch of jobs of every
/// kind (mp3, mp4 slideshow, mp4 re-encode, carousel): every accepted job ends
/// completed, every output decodes whole, nothing is left in running/ or tmp/,
/// no temp sits beside the outputs, and the analytics log has exactly one whole
/// line per job.
final class KillTortureTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() { h?.stopAll() }

    /// 8 jobs in `make test`; `make torture` sets EXPORTCTL_TORTURE_JOBS (60).
    func testRandomKill9AcrossABatchOfEveryKind() throws {
        let jobs = Int(ProcessInfo.processInfo.environment["EXPORTCTL_TORTURE_JOBS"] ?? "") ?? 8
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        // Kills are not the job's fault: allow enough attempts that none gives up.
        try #"{"maxAttempts": 100}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        let batch = FaultBatch(h)
        try batch.makeInputs()
        let entries = try batch.writeJobs(jobs)
        let submit = try h.run(["submit"] + entries.map(\.file))
        XCTAssertEqual(submit.status, 0, submit.stderr)
        let ids = submit.lines
        XCTAssertEqual(ids.count, jobs)

        // Lives of 50 ms to 1.2 s: short ones land in the claim and the render's
        // start, long ones let renders of every kind reach their publish. The
        // first three are at most 400 ms, so a fast machine cannot finish the
        // batch before the daemon has been killed a few times.
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        for _ in 0..<(jobs * 3) {
            if h.files(in: "spool/done").count == jobs { break }
            let d = try h.startDaemon()
            usleep(UInt32.random(in: 50_000...(kills < 3 ? 400_000 : 1_200_000), using: &generator))
            kill(d.processIdentifier, SIGKILL)
            d.waitUntilExit()
            kills += 1
        }
        let doneUnderKills = h.files(in: "spool/done").count
        let finish = try h.run(["daemon", "--once"])
        XCTAssertEqual(finish.status, 0, finish.stderr)
        XCTAssertGreaterThanOrEqual(kills, 3, "the daemon was killed mid-batch")
        try batch.assertAllCompletedAndWhole(entries, ids: ids)

        var interrupted: [FaultBatch.Kind: Int] = [:]
        for (e, id) in zip(entries, ids) {
            let attempts = try h.json(try h.run(["status", "--json", id]).stdout)["attempts"] as? Int ?? 0
            if attempts > 1 { interrupted[e.kind, default: 0] += 1 }
        }
        XCTAssertGreaterThanOrEqual(interrupted.values.reduce(0, +), 1, "some kill landed while a job was rendering")
        let perKind = FaultBatch.Kind.allCases.map { "\($0.rawValue) \(interrupted[$0] ?? 0)" }.joined(separator: ", ")
        print("kill torture: \(jobs) jobs of 4 kinds, \(kills) kills of the daemon, \(doneUnderKills) completed under the kills, "
              + "interrupted mid-render: \(perKind); all completed and whole")
    }
}
