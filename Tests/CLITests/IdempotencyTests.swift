import Foundation
import XCTest

/// `idempotencyKey` and `submit --dedupe`: the same work submitted again names
/// the earlier job. A stand-in renderer (EXPORTCTL_RENDERER) answers
/// `--version` and "renders", so no FFmpeg is loaded.
final class IdempotencyTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try #"{"rescanSeconds": 1, "retryBackoffSeconds": 0.1}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        try "first take".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
        let script = """
        #!/bin/sh
        if [ "$1" = --version ]; then echo '{"event":"version","version":"fake-render 1"}'; exit 0; fi
        printf 'ID3fake' > "$2"
        echo '{"event":"result","duration":1.0,"bytes":7,"mediaSeconds":1.0,"codec":"mp3"}'
        """
        try script.write(toFile: h.path("fake-render"), atomically: true, encoding: .utf8)
        chmod(h.path("fake-render"), 0o755)
        h.extraEnvironment["EXPORTCTL_RENDERER"] = h.path("fake-render")
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/o.mp3"}"#)
    }

    override func tearDown() { h?.stopAll() }

    private var queued: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: h.spool + "/queue")) ?? []).sorted() }

    private func submit(_ args: [String]) throws -> CLIHarness.Result {
        let r = try h.run(["submit"] + args)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r
    }

    func testIdempotencyKeyReturnsTheQueuedJobPerUser() throws {
        try h.writeJob("k.json", #"{"kind":"mp3","input":"in.wav","output":"out/k.mp3","idempotencyKey":"episode-1","user":"ann"}"#)
        let first = try submit(["k.json"]).stdout
        let again = try submit(["--json", "k.json"])
        let j = try h.json(again.stdout)
        XCTAssertEqual(j["id"] as? String, first.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(j["duplicate"] as? Bool, true)
        XCTAssertEqual(j["state"] as? String, "queued")
        let human = try submit(["k.json"])
        XCTAssertEqual(human.stdout, first, "the same id, on standard output as for a new job")
        XCTAssertTrue(human.stderr.contains("k.json: the same work is already queued as \(first.trimmingCharacters(in: .whitespacesAndNewlines)); not queued again"), human.stderr)
        XCTAssertEqual(queued.count, 1)
        let stored = try String(contentsOfFile: h.spool + "/queue/" + queued[0], encoding: .utf8)
        XCTAssertTrue(stored.contains(#""idempotencyKey":"episode-1""#), stored)

        // The key is per user: another user's job with the same key is its own.
        try h.writeJob("b.json", #"{"kind":"mp3","input":"in.wav","output":"out/b.mp3","idempotencyKey":"episode-1","user":"bob"}"#)
        XCTAssertNotEqual(try submit(["b.json"]).stdout, first)
        XCTAssertEqual(queued.count, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.spool + "/keys").filter { $0.count == 64 }.count, 2)
    }

    func testDedupeReturnsOneJobForConcurrentSubmits() throws {
        var procs: [(Process, URL)] = []
        for i in 0..<6 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLIHarness.exportctl)
            p.arguments = ["submit", "--dedupe", "j.json"]
            p.currentDirectoryURL = h.dir
            p.environment = h.environment
            let out = h.dir.appendingPathComponent(".stdout-c\(i)")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            p.standardOutput = try FileHandle(forWritingTo: out)
            p.standardError = FileHandle.nullDevice
            procs.append((p, out))
        }
        for (p, _) in procs { try p.run() }
        var ids: Set<String> = []
        for (p, out) in procs {
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            ids.insert(try String(contentsOf: out, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertEqual(ids.count, 1, "six concurrent submits of the same work: one id")
        XCTAssertEqual(queued, [ids.first! + ".json"])

        // Same content, file touched: the same work. Changed content: new work.
        utimes(h.path("in.wav"), nil)
        XCTAssertEqual(try submit(["--dedupe", "j.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), ids.first!)
        try "second take".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
        let changed = try submit(["--dedupe", "j.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotEqual(changed, ids.first!)
        XCTAssertEqual(queued.count, 2)
        // A changed job field is new work too.
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/o.mp3","bitrate":96}"#)
        XCTAssertFalse([ids.first!, changed].contains(try submit(["--dedupe", "j.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func testCompletedWithUnchangedOutputIsReportedDone() throws {
        let id = try submit(["--dedupe", "j.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertEqual(try String(contentsOfFile: h.path("out/o.mp3"), encoding: .utf8), "ID3fake")
        let log = try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8)
        XCTAssertTrue(log.contains(#""class":"audio""#), "estimates learn by the size class the daemon logs: \(log)")

        // The output exists and the job does not allow overwriting: still accepted, as already done.
        let again = try submit(["--dedupe", "--json", "j.json"])
        let j = try h.json(again.stdout)
        XCTAssertEqual(j["id"] as? String, id)
        XCTAssertEqual(j["state"] as? String, "completed")
        let human = try submit(["--dedupe", "j.json"])
        XCTAssertTrue(human.stderr.contains("the same work completed as \(id) and its output is unchanged; not rendered again"), human.stderr)
        XCTAssertEqual(queued, [])

        // The output changed since: the work is not done any more; without overwrite it is refused as usual.
        try "edited by hand".write(toFile: h.path("out/o.mp3"), atomically: true, encoding: .utf8)
        let refused = try h.run(["submit", "--dedupe", "j.json"])
        XCTAssertEqual(refused.status, 65)
        XCTAssertEqual(refused.stderr, "exportctl: j.json: \"output\": 'out/o.mp3' exists; remove it or set \"overwrite\": true\n")
        try FileManager.default.removeItem(atPath: h.path("out/o.mp3"))
        let redo = try submit(["--dedupe", "j.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotEqual(redo, id)
        XCTAssertEqual(queued, [redo + ".json"])
    }

    func testFsckFindsStaleAndMissingKeyEntries() throws {
        try h.writeJob("k.json", #"{"kind":"mp3","input":"in.wav","output":"out/k.mp3","idempotencyKey":"x"}"#)
        let id = try submit(["k.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let keys = try FileManager.default.contentsOfDirectory(atPath: h.spool + "/keys").filter { $0.count == 64 }
        XCTAssertEqual(keys.count, 1)
        try FileManager.default.removeItem(atPath: h.spool + "/keys/" + keys[0])
        try "0123456789abc-000000\n".write(toFile: h.spool + "/keys/" + String(repeating: "a", count: 64), atomically: true, encoding: .utf8)
        let f = try h.run(["fsck", "--repair"])
        XCTAssertTrue(f.stdout.contains("stale-key: \(h.spool)/keys/\(String(repeating: "a", count: 64))"), f.stdout)
        XCTAssertTrue(f.stdout.contains("missing-key: \(h.spool)/keys/\(keys[0]): job \(id) has an idempotencyKey but no entry"), f.stdout)
        XCTAssertEqual(try String(contentsOfFile: h.spool + "/keys/" + keys[0], encoding: .utf8), id + "\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.spool + "/keys/" + String(repeating: "a", count: 64)))
        XCTAssertEqual(try h.run(["submit", "k.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), id, "the rebuilt entry is used")
    }
}
