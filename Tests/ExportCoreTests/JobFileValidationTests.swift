@testable import ExportCore
import Foundation
import XCTest

/// Every message a user can get from a job file, as `submit` prints it.
final class JobFileValidationTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "exportctl-decoder-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try Data("RIFF".utf8).write(to: URL(fileURLWithPath: dir + "/talk.wav"))
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func decode(_ text: String) throws(JobError) -> Job {
        try JobDecoder(mode: .submitted, baseDirectory: dir).decode(Array(text.utf8), name: "job.json")
    }

    /// The message for `text`, or a failure when it decodes.
    private func message(_ text: String, _ file: StaticString = #filePath, _ line: UInt = #line) -> String {
        do {
            _ = try decode(text)
            XCTFail("accepted: \(text)", file: file, line: line)
            return ""
        } catch {
            return error.description
        }
    }

    private func job(_ extra: String) -> String {
        #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3""# + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    func testValidJobResolvesPathsAndKeepsOptions() throws {
        let j = try decode(#"{"kind":"mp3","input":"./sub/../talk.wav","output":"out//a.mp3","bitrate":192,"sampleRate":48000,"channels":1,"start":12.5,"duration":60,"metadata":{"title":"Épisode 1","track":3},"user":"u1"}"#)
        XCTAssertEqual(j.input, dir + "/talk.wav")
        XCTAssertEqual(j.output, dir + "/out/a.mp3")
        XCTAssertEqual(j.mp3, MP3Options(bitrate: 192, sampleRate: 48000, channels: 1, metadata: [("title", "Épisode 1"), ("track", "3")]))
        XCTAssertEqual(j.start, 12.5)
        XCTAssertEqual(j.duration, 60)
        XCTAssertEqual(j.user, "u1")
        XCTAssertNil(j.storedJSON()["user"], "the clear user is never part of the stored form")
    }

    func testSyntaxErrorsNameLineAndColumn() {
        XCTAssertEqual(message("{ \"kind\": \"mp3\",\n  \"input\": \"talk.wav\" \"output\": \"x\" }"), "job.json:2:23: expected ',' or '}' (found '\"')")
        XCTAssertEqual(message(#"{"kind":"mp3",}"#), "job.json:1:15: unexpected character (found '}')")
        XCTAssertEqual(message("{'kind':'mp3'}"), "job.json:1:2: strings and keys need double quotes (found \"'\")")
        XCTAssertEqual(message(#"{"kind":"mp3"} trailing"#), "job.json:1:16: unexpected character (found 't')")
        XCTAssertEqual(message("{\"kind\":\n\"mp3\""), "job.json:2:6: unexpected end of file")
        XCTAssertEqual(message(""), "job.json:1:1: empty file, expected a JSON object")
        XCTAssertTrue(message("{\"kind\":\"mp\u{0}3\"}").contains("NUL"))
        XCTAssertEqual(message("[1,2]"), #"job.json: expected a JSON object with a "kind", got an array"#)
    }

    func testKindMessages() {
        XCTAssertEqual(message(#"{"input":"talk.wav","output":"out/a.mp3"}"#), #"job.json: "kind": missing; one of mp3, mp4, carousel"#)
        XCTAssertEqual(message(#"{"kind":"wav","input":"talk.wav","output":"out/a.mp3"}"#), #"job.json: "kind": unknown kind 'wav'; one of mp3, mp4, carousel"#)
        XCTAssertEqual(message(#"{"kind":3}"#), #"job.json: "kind": expected a string, got a number"#)
        // A carousel's pictures are its slides: it has no "input".
        XCTAssertEqual(message(#"{"kind":"carousel","input":"talk.wav","output":"out/a"}"#), #"job.json: "input": unknown field"#)
    }

    func testFieldMessages() {
        XCTAssertEqual(message(job(#""bitrate":1000"#)), #"job.json: "bitrate": must be one of 32…320 (got 1000)"#)
        XCTAssertTrue(message(job(#""bitrate":100"#)).hasPrefix(#"job.json: "bitrate": 100 is not an MP3 bitrate; one of 32, 40"#))
        XCTAssertEqual(message(job(#""bitrate":"128k""#)), #"job.json: "bitrate": expected a whole number, got a string"#)
        XCTAssertEqual(message(job(#""bitrate":128.5"#)), #"job.json: "bitrate": expected a whole number, got 128.5"#)
        XCTAssertEqual(message(job(#""quality":10"#)), #"job.json: "quality": must be 0 (best) … 9 (smallest) (got 10)"#)
        XCTAssertEqual(message(job(#""quality":2,"bitrate":128"#)), #"job.json: "quality": give either "bitrate" (CBR) or "quality" (VBR), not both"#)
        XCTAssertTrue(message(job(#""sampleRate":96000"#)).hasPrefix(#"job.json: "sampleRate": MP3 supports 8000, 11025"#))
        XCTAssertEqual(message(job(#""channels":6"#)), #"job.json: "channels": must be 1 (mono) or 2 (stereo) (got 6)"#)
        XCTAssertEqual(message(job(#""start":-1"#)), #"job.json: "start": must be at least 0 and at most 604800 seconds (got -1)"#)
        XCTAssertEqual(message(job(#""duration":0"#)), #"job.json: "duration": must be greater than 0 and at most 604800 seconds (got 0)"#)
        XCTAssertEqual(message(job(#""duration":"60s""#)), #"job.json: "duration": expected a number of seconds, got a string"#)
        XCTAssertEqual(message(job(#""overwrite":"yes""#)), #"job.json: "overwrite": expected true or false, got a string"#)
        XCTAssertEqual(message(job(#""metadata":{"titel":"x"}"#)), #"job.json: "metadata.titel": unknown tag; one of title, artist, album, album_artist, date, genre, track, comment, composer, copyright, language"#)
        XCTAssertEqual(message(job(#""metadata":{"title":true}"#)), #"job.json: "metadata.title": expected a string, got a boolean"#)
        XCTAssertEqual(message(job(#""metadata":[1]"#)), #"job.json: "metadata": expected an object of tag names to strings, got an array"#)
        XCTAssertEqual(message(job(#""user":"""#)), #"job.json: "user": expected a non-empty string of at most 256 bytes"#)
        XCTAssertEqual(message(job(#""bitrat":128"#)), #"job.json: "bitrat": unknown field; did you mean "bitrate"?"#)
        XCTAssertEqual(message(job(#""id":"x""#)), #"job.json: "id": unknown field"#, "stored-only fields are refused at submit, with no far-fetched hint")
        XCTAssertEqual(message(job(#""userHash":"ab""#)), #"job.json: "userHash": unknown field"#)
    }

    func testPathMessages() {
        XCTAssertEqual(message(#"{"kind":"mp3","output":"out/a.mp3"}"#), #"job.json: "input": missing; give a file path"#)
        XCTAssertEqual(message(#"{"kind":"mp3","input":"nope.wav","output":"out/a.mp3"}"#), #"job.json: "input": no such file 'nope.wav'"#)
        XCTAssertEqual(message(#"{"kind":"mp3","input":"out","output":"out/a.mp3"}"#), #"job.json: "input": 'out' is not a regular file"#)
        XCTAssertEqual(message(#"{"kind":"mp3","input":"http://example.test/a.wav","output":"out/a.mp3"}"#),
                       #"job.json: "input": 'http://example.test/a.wav' looks like a URL; only local files are accepted (write './http://example.test/a.wav' for a file)"#)
        XCTAssertEqual(message(#"{"kind":"mp3","input":"-i.wav","output":"out/a.mp3"}"#), #"job.json: "input": path '-i.wav' starts with '-'; write './-i.wav'"#)
        XCTAssertEqual(message(#"{"kind":"mp3","input":"talk.wav","output":"missing/a.mp3"}"#), #"job.json: "output": directory '\#(dir!)/missing' does not exist; create it first"#)
        XCTAssertEqual(message(#"{"kind":"mp3","input":"talk.wav","output":"out"}"#), #"job.json: "output": 'out' is a directory; name the file to write"#)
        XCTAssertEqual(message(#"{"kind":"mp3","input":"talk.wav","output":"talk.wav"}"#), #"job.json: "output": is the same file as "input""#)
        FileManager.default.createFile(atPath: dir + "/out/a.mp3", contents: Data())
        XCTAssertEqual(message(job("")), #"job.json: "output": 'out/a.mp3' exists; remove it or set "overwrite": true"#)
        XCTAssertNoThrow(try decode(job(#""overwrite":true"#)))
        do { _ = try decode(#"{"kind":"mp3","input":"nope.wav","output":"out/b.mp3"}"#) } catch {
            XCTAssertEqual(error.category, .missingInput, "a missing input is exit 66, not 65")
        }
    }

    func testStoredModeNeedsAbsolutePathsAndTakesStoredFields() throws {
        let stored = JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false)
        XCTAssertThrowsError(try stored.decode(Array(#"{"kind":"mp3","input":"a.wav","output":"/o.mp3"}"#.utf8), name: "s"))
        let j = try stored.decode(Array(#"{"id":"65f1c2a8b3e41-9c03fa","kind":"mp3","input":"/a.wav","output":"/o.mp3","userHash":"ab","submittedAt":1.5}"#.utf8), name: "s")
        XCTAssertEqual(j.id?.rawValue, "65f1c2a8b3e41-9c03fa")
        XCTAssertEqual(j.userHash, "ab")
        XCTAssertEqual(j.submittedAt, 1.5)
        XCTAssertThrowsError(try stored.decode(Array(#"{"kind":"mp3","input":"/a.wav","output":"/o.mp3","user":"u"}"#.utf8), name: "s"),
                             "a clear user never sits in the spool")
        // What submit stores, decodes back to the same job.
        var submitted = try decode(job(#""quality":4,"metadata":{"artist":"Me"},"start":1.25"#))
        submitted.id = JobID.make()
        XCTAssertEqual(try stored.decode(Array(submitted.storedJSON().jsonText().utf8), name: "s").mp3, submitted.mp3)
    }
}

/// The spool's submit, queue order and lock, on a temporary directory.
final class SpoolSubmitTests: XCTestCase {
    var root: String!
    var spool: Spool!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "exportctl-spool-\(UUID().uuidString.prefix(8))"
        spool = Spool(root: root + "/spool")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func jobs(_ n: Int, user: String? = nil) -> [Job] {
        (0..<n).map { i in
            var j = Job(kind: .mp3, input: "/in.wav", output: "/out/\(i).mp3")
            j.user = user
            return j
        }
    }

    func testSubmitCreatesAPrivateSpoolAndQueuesInOrder() throws {
        let ids = try Submitter(spool: spool).submit(jobs(5, user: "alice"))
        XCTAssertEqual(ids, ids.sorted(), "ids sort in submit order")
        XCTAssertEqual(Set(ids).count, 5)
        XCTAssertEqual(try spool.ids(in: .queued), ids)
        let mode = try FileManager.default.attributesOfItem(atPath: spool.root + "/queue")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o700)
        let secretMode = try FileManager.default.attributesOfItem(atPath: spool.root + "/secret")[.posixPermissions] as? Int
        XCTAssertEqual(secretMode, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spool.root + "/tmp"), [], "no temp left behind")
        for (n, id) in ids.enumerated() { XCTAssertEqual(try spool.position(of: id), n + 1) }
        let stored = try spool.readJob(ids[0], .queued)
        XCTAssertEqual(stored.userHash, try spool.hashUser("alice"))
        XCTAssertEqual(stored.userHash?.count, 64)
        let other = Spool(root: root + "/other")
        try other.create()
        XCTAssertNotEqual(try other.hashUser("alice"), stored.userHash, "each spool has its own salt")
    }

    func testQueueCapIsAllOrNothing() throws {
        try spool.create()
        try Data(#"{"queueCap": 3}"#.utf8).write(to: URL(fileURLWithPath: spool.root + "/settings.json"))
        _ = try Submitter(spool: spool).submit(jobs(2))
        XCTAssertThrowsError(try Submitter(spool: spool).submit(jobs(2))) { error in
            guard case let SpoolError.queueFull(waiting, cap) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(waiting, 2)
            XCTAssertEqual(cap, 3)
        }
        XCTAssertEqual(try spool.ids(in: .queued).count, 2, "the refused batch left nothing behind")
    }

    func testThousandSubmitsInOneBatchAreQuick() throws {
        let t0 = Clock.monotonic()
        let ids = try Submitter(spool: spool).submit(jobs(1000))
        XCTAssertEqual(ids.count, 1000)
        XCTAssertLessThan(Clock.monotonic() - t0, 2.0)
    }

    func testStatusFollowsTheDirectoryNotAStaleSidecar() throws {
        let id = try Submitter(spool: spool).submit(jobs(1))[0]
        var r = try spool.status(of: id)
        XCTAssertEqual(r.state, .queued)
        r.state = .processing
        try r.write(to: spool, durable: true)
        XCTAssertEqual(try spool.status(of: id).state, .queued, "the directory is the truth")
        XCTAssertEqual(try spool.status(of: id).position, 1)
        XCTAssertThrowsError(try spool.status(of: JobID("0000000000000-000000")!))
    }

    func testCancelQueuedMovesTheJobAndLogsOnce() throws {
        let id = try Submitter(spool: spool).submit(jobs(1))[0]
        XCTAssertTrue(try spool.cancelQueued(id))
        XCTAssertFalse(try spool.cancelQueued(id), "no longer queued")
        XCTAssertEqual(spool.state(of: id), .cancelled)
        XCTAssertEqual(StatusSidecar.read(id, in: spool)?.error?.code, "cancelled")
        XCTAssertEqual(try AnalyticsLog(path: spool.analyticsPath).entries().map(\.outcome), ["cancelled"])
    }

    func testSecondLockIsRefusedWithTheHoldersPid() throws {
        try spool.create()
        var lock: SpoolLock? = try SpoolLock.acquire(spool)
        XCTAssertTrue(SpoolLock.isHeld(spool))
        XCTAssertThrowsError(try SpoolLock.acquire(spool)) { error in
            XCTAssertTrue("\(error)".contains("pid \(getpid())"), "\(error)")
        }
        withExtendedLifetime(lock) {}
        lock = nil
        XCTAssertFalse(SpoolLock.isHeld(spool))
    }

    func testStatsFromEntries() {
        var entries: [AnalyticsLog.Entry] = []
        for i in 1...20 {
            let outcome = i == 20 ? "failed" : "completed"
            let user = i % 2 == 0 ? "a" : "b"
            entries.append(AnalyticsLog.Entry(time: Double(i), id: "j\(i)", attempt: 1, kind: "mp3", outcome: outcome,
                                              userHash: user, mediaSeconds: 10, renderSeconds: Double(i), bytes: 100))
        }
        let s = Stats(entries: entries)
        XCTAssertEqual(s.total, 20)
        XCTAssertEqual(s.uniqueUsers, 2)
        XCTAssertEqual(s.mediaSeconds, 190, "completed jobs only")
        XCTAssertEqual(s.renderSecondsMedian, 10, "nearest rank of 1…19")
        XCTAssertEqual(s.renderSecondsP95, 19)
        XCTAssertEqual(s.counts.first { $0.outcome == "failed" }?.jobs, 1)
    }
}
