import Foundation
import XCTest

/// kill -9 of the daemon at random moments across a batch: every accepted job
/// ends completed, every output decodes whole, nothing is left in running/ or
/// tmp/, no temp sits beside the outputs, and the analytics log has exactly one
/// whole line per job.
final class KillTortureTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() { h?.stopAll() }

    /// 20 jobs in `make test`; `make torture` sets EXPORTCTL_TORTURE_JOBS (60).
    func testRandomKill9AcrossABatch() throws {
        let jobs = Int(ProcessInfo.processInfo.environment["EXPORTCTL_TORTURE_JOBS"] ?? "") ?? 20
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        // Kills are not the job's fault: allow enough attempts that none gives up.
        try #"{"maxAttempts": 100}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        try h.makeTone("tone.wav", seconds: 8)
        var files: [String] = []
        for i in 0..<jobs {
            files.append(try h.writeJob("j\(i).json", #"{"kind":"mp3","input":"tone.wav","output":"out/o\#(i).mp3","bitrate":320}"#))
        }
        let submit = try h.run(["submit"] + files)
        XCTAssertEqual(submit.status, 0, submit.stderr)
        let ids = submit.lines
        XCTAssertEqual(ids.count, jobs)

        var generator = SystemRandomNumberGenerator()
        var kills = 0
        for _ in 0..<(jobs * 3) {
            if h.files(in: "spool/done").count == jobs { break }
            let d = try h.startDaemon()
            usleep(UInt32.random(in: 30_000...250_000, using: &generator))
            kill(d.processIdentifier, SIGKILL)
            d.waitUntilExit()
            kills += 1
        }
        let finish = try h.run(["daemon", "--once"])
        XCTAssertEqual(finish.status, 0, finish.stderr)
        XCTAssertGreaterThanOrEqual(kills, 3, "the daemon was killed mid-batch")

        let w = try h.run(["wait", "--timeout", "10"] + ids)
        XCTAssertEqual(w.status, 0, "every job completed after \(kills) kills: \(w.stdout)")
        XCTAssertEqual(h.files(in: "spool/running"), [])
        XCTAssertEqual(h.files(in: "spool/queue"), [])
        XCTAssertEqual(h.files(in: "spool/tmp"), [])
        XCTAssertEqual(h.files(in: "out"), (0..<jobs).map { "o\($0).mp3" }.sorted(), "no temp or stray file beside the outputs")
        for i in 0..<jobs {
            XCTAssertEqual(try h.probe(h.path("out/o\(i).mp3")).duration, 8, accuracy: 1152.0 / 44100, "o\(i).mp3 decodes whole")
        }
        let log = try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8)
        XCTAssertTrue(log.hasSuffix("\n"), "no torn last line")
        let lines = log.split(separator: "\n")
        XCTAssertEqual(lines.count, jobs, "one line per job")
        let logged = try lines.map { try XCTUnwrap(h.json(String($0))["id"] as? String) }
        XCTAssertEqual(Set(logged), Set(ids))
        let attempts = try ids.map { try h.json(try h.run(["status", "--json", $0]).stdout)["attempts"] as? Int ?? 0 }
        XCTAssertGreaterThanOrEqual(attempts.max() ?? 0, 2, "some kill landed while a job was rendering")
        print("kill torture: \(jobs) jobs, \(kills) kills of the daemon, \(attempts.filter { $0 > 1 }.count) jobs interrupted mid-render, all completed")
    }
}
