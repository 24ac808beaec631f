@testable import ExportCore
import Foundation
import XCTest

/// Daemon start-up recovery of jobs caught between the steps of a publish.
final class PublishRecoveryTests: XCTestCase {
    var root: String!
    var spool: Spool!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "exportctl-recovery-\(UUID().uuidString.prefix(8))"
        spool = Spool(root: root + "/spool")
        try spool.create()
        try FileManager.default.createDirectory(atPath: root + "/out", withIntermediateDirectories: true)
        try Data("RIFF".utf8).write(to: URL(fileURLWithPath: root + "/in.wav"))
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// Puts a job in running/ as a claim would, with its sidecar.
    private func runningJob(stage: String?, bytes: Int64?, attempts: Int = 1) throws -> (JobID, Job) {
        var job = Job(kind: .mp3, input: root + "/in.wav", output: root + "/out/o.mp3")
        let id = JobID.make()
        job.id = id
        job.submittedAt = Clock.now()
        try Data((job.storedJSON().jsonText() + "\n").utf8).write(to: URL(fileURLWithPath: spool.jobPath(id, .processing)))
        var r = StatusSidecar(queued: job, id: id)
        r.state = .processing
        r.attempts = attempts
        r.startedAt = Clock.now()
        r.stage = stage
        r.output.bytes = bytes
        try r.write(to: spool, durable: false)
        return (id, job)
    }

    private func recover() throws -> [String] {
        var lines: [String] = []
        try Daemon(spool: spool, log: { lines.append($0) }).recover()
        return lines
    }

    func testPublishedButNotMarkedCompletedIsRecoveredAsCompleted() throws {
        let (id, job) = try runningJob(stage: Daemon.publishingStage, bytes: 5)
        try Data("ID3xx".utf8).write(to: URL(fileURLWithPath: job.output))
        _ = try recover()
        XCTAssertEqual(spool.state(of: id), .completed)
        let s = try XCTUnwrap(StatusSidecar.read(id, in: spool))
        XCTAssertEqual(s.state, .completed)
        XCTAssertEqual(s.progress, 1)
        let entries = try AnalyticsLog(path: spool.analyticsPath).entries()
        XCTAssertEqual(entries.map(\.outcome), ["completed"], "the recovered job gets its analytics line")
    }

    func testKilledAfterTheAnalyticsLineButBeforeTheMoveLogsTheJobOnce() throws {
        // The state a kill -9 leaves between conclude's log line and its rename:
        // the final record written, the line in the log, the job still in running/.
        let (id, job) = try runningJob(stage: nil, bytes: 5)
        try Data("ID3xx".utf8).write(to: URL(fileURLWithPath: job.output))
        var r = try XCTUnwrap(StatusSidecar.read(id, in: spool))
        r.state = .completed
        r.progress = 1
        r.finishedAt = Clock.now()
        try r.write(to: spool, durable: false)
        try AnalyticsLog(path: spool.analyticsPath).append(.init(time: Clock.now(), id: id.rawValue, attempt: 1, kind: "mp3", outcome: "completed"))
        _ = try recover()
        XCTAssertEqual(spool.state(of: id), .completed)
        let log = try String(contentsOfFile: spool.analyticsPath, encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 1, "one line, not two: \(log)")
    }

    func testKilledBeforeTheAnalyticsLineGetsItAtRestart() throws {
        let (id, job) = try runningJob(stage: nil, bytes: 5)
        try Data("ID3xx".utf8).write(to: URL(fileURLWithPath: job.output))
        var r = try XCTUnwrap(StatusSidecar.read(id, in: spool))
        r.state = .completed
        r.finishedAt = Clock.now()
        try r.write(to: spool, durable: false)
        _ = try recover()
        XCTAssertEqual(spool.state(of: id), .completed)
        XCTAssertEqual(try AnalyticsLog(path: spool.analyticsPath).entries().map(\.id), [id.rawValue])
    }

    func testPublishingWithADifferentFileAtTheOutputIsRequeued() throws {
        let (id, job) = try runningJob(stage: Daemon.publishingStage, bytes: 5000)
        try Data("someone else's file".utf8).write(to: URL(fileURLWithPath: job.output))
        _ = try recover()
        XCTAssertEqual(spool.state(of: id), .queued, "a file of another size is not ours: render again")
        XCTAssertNil(StatusSidecar.read(id, in: spool)?.startedAt)
    }

    func testInterruptedRenderIsRequeuedAndItsTempRemoved() throws {
        let (id, job) = try runningJob(stage: "encoding", bytes: nil)
        let temp = Spool.tempOutputPath(for: job, id: id)
        try Data("partial".utf8).write(to: URL(fileURLWithPath: temp))
        _ = try recover()
        XCTAssertEqual(spool.state(of: id), .queued)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp))
        XCTAssertFalse(FileManager.default.fileExists(atPath: job.output))
        XCTAssertEqual(StatusSidecar.read(id, in: spool)?.attempts, 1, "the interrupted attempt stays counted")
    }

    func testInterruptedAtTheLastAttemptFails() throws {
        let (id, _) = try runningJob(stage: "encoding", bytes: nil, attempts: 3)
        _ = try recover()
        XCTAssertEqual(spool.state(of: id), .failed)
        XCTAssertEqual(StatusSidecar.read(id, in: spool)?.error?.code, "interrupted")
    }

    func testTornLogLineIsRepairedBeforeRecoveryAppends() throws {
        try Data(#"{"time":"2026-11-22T10:00:00.000Z","id":"x","#.utf8).write(to: URL(fileURLWithPath: spool.analyticsPath))
        let (id, _) = try runningJob(stage: "encoding", bytes: nil, attempts: 3)
        let lines = try recover()
        XCTAssertTrue(lines.contains { $0.contains("torn") }, "\(lines)")
        let text = try String(contentsOfFile: spool.analyticsPath, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix(#"{"time""#) && text.hasSuffix("\n"))
        XCTAssertEqual(text.split(separator: "\n").count, 1)
        XCTAssertEqual(try AnalyticsLog(path: spool.analyticsPath).entries().map(\.id), [id.rawValue])
    }
}

/// The analytics log never glues a new line onto a torn one.
final class AnalyticsAppendTests: XCTestCase {
    func testAppendAfterATornLineCutsItFirst() throws {
        let path = NSTemporaryDirectory() + "exportctl-log-\(UUID().uuidString.prefix(8)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = AnalyticsLog(path: path)
        try log.append(.init(time: 1, id: "a", attempt: 1, kind: "mp3", outcome: "completed"))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"partial"#.utf8))
        try handle.close()
        try log.append(.init(time: 2, id: "b", attempt: 1, kind: "mp3", outcome: "failed", errorCode: "invalid-media"))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3, "two lines and the final newline")
        XCTAssertEqual(try log.entries().map(\.id), ["a", "b"])
        XCTAssertEqual(try log.entries().last?.errorCode, "invalid-media")
    }
}

/// SHA-256 and HMAC-SHA256 against published test vectors.
final class DigestVectorTests: XCTestCase {
    func testSHA256Vectors() {
        XCTAssertEqual(SHA256.hex(SHA256.hash([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testIncrementalHashEqualsOneShotAcrossBlockBoundaries() throws {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for cut in [0, 1, 55, 56, 63, 64, 65, 999, 1000] {
            let h = try XCTUnwrap(SHA256.Hasher())
            h.update(Array(message[..<cut]))
            h.update(Array(message[cut...]))
            XCTAssertEqual(h.finalize(), SHA256.hash(message), "split at \(cut)")
        }
        // FIPS 180-4 example: one million 'a'.
        let h = try XCTUnwrap(SHA256.Hasher())
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(chunk) }
        XCTAssertEqual(SHA256.hex(h.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testHMACSHA256RFC4231() {
        XCTAssertEqual(SHA256.hex(SHA256.hmac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(SHA256.hex(SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Test case 6: a key longer than the block size is hashed first.
        XCTAssertEqual(SHA256.hex(SHA256.hmac(key: [UInt8](repeating: 0xaa, count: 131),
                                              message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}

/// `Sys.readAll`: whole files of any size up to the limit, from files and pipes.
final class ReadAllTests: XCTestCase {
    func testReadsUpToTheLimitAndRefusesOneByteMore() throws {
        let dir = NSTemporaryDirectory() + "readall-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/f"))
        XCTAssertEqual(try Sys.readFile(dir + "/f", limit: 200_000), bytes)
        XCTAssertThrowsError(try Sys.readFile(dir + "/f", limit: 199_999)) { e in
            XCTAssertEqual((e as? SystemError)?.errno, EFBIG)
        }
        try Data().write(to: URL(fileURLWithPath: dir + "/empty"))
        XCTAssertEqual(try Sys.readFile(dir + "/empty"), [])
    }

    func testReadsAPipeOfUnknownSize() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let bytes = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let writer = Thread {
            bytes.withUnsafeBytes { b in var off = 0; while off < b.count { off += max(0, write(writeEnd, b.baseAddress! + off, b.count - off)) } }
            close(writeEnd)
        }
        writer.start()
        defer { close(readEnd) }
        XCTAssertEqual(try Sys.readAll(readEnd, limit: 1 << 20), bytes)
    }
}

/// `--since` times and lengths (`TimeSpan`), on top of `Clock.parseISO8601WithOffset`.
final class TimeSpanTests: XCTestCase {
    func testSinceAcceptsDatesTimesZonesAndLengths() {
        let midnight = 1_795_305_600.0  // 2026-11-22T00:00:00Z
        XCTAssertEqual(TimeSpan.since("2026-11-22", now: 0), midnight)
        XCTAssertEqual(TimeSpan.since("2026-11-22T10:00", now: 0), midnight + 36000)
        XCTAssertEqual(TimeSpan.since("2026-11-22 10:00:30.5Z", now: 0), midnight + 36030.5)
        XCTAssertEqual(TimeSpan.since("2026-11-22T10:00+01:00", now: 0), midnight + 32400)
        XCTAssertEqual(TimeSpan.since("24h", now: midnight), midnight - 86400)
        XCTAssertEqual(TimeSpan.since("90", now: 100), 10)
        for bad in ["2026-02-31", "2026-11-22T25:00", "2026-11-22T10", "yesterday", "2026-11-22T10:00+01:00Z", "-5m"] {
            XCTAssertNil(TimeSpan.since(bad, now: 0), bad)
        }
    }
}
