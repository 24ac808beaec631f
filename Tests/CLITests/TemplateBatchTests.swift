import Foundation
import XCTest

/// Templates (`"template"` + `"data"` in a job file) and batches
/// (`submit --template T --data ROWS`) through the built binary, without a daemon.
final class TemplateBatchTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try "not really audio".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: h.spool + "/templates", withIntermediateDirectories: true)
        try template("ep", #"""
        { "kind": "mp3", "input": "{{input}}", "output": "out/{{slug}}.mp3",
          "bitrate": "{{rate}}", "overwrite": "{{replace}}", "duration": "{{seconds}}",
          "metadata": { "title": "{{title}}", "comment": "Episode {{n}} of {{series}}", "artist": "{{title}}" } }
        """#)
    }

    override func tearDown() { h?.stopAll() }

    private func template(_ name: String, _ text: String) throws {
        try text.write(toFile: h.spool + "/templates/\(name).json", atomically: true, encoding: .utf8)
    }

    /// The stored job of `id`, as JSON.
    private func stored(_ id: String) throws -> [String: Any] {
        try h.json(try String(contentsOfFile: h.spool + "/queue/\(id).json", encoding: .utf8))
    }

    private var queued: [String] { (try? FileManager.default.contentsOfDirectory(atPath: h.spool + "/queue")) ?? [] }

    func testWholeValuePlaceholdersTakeTheDataValuesJSONType() throws {
        try h.writeJob("job.json", #"""
        {"template": "ep", "data": {"input": "in.wav", "slug": "ep-1", "rate": 192, "replace": true, "seconds": 2.5,
                                     "title": "Épisode \"1\" {{slug}}", "n": 7, "series": "Talks"}}
        """#)
        let r = try h.run(["submit", "job.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let job = try stored(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(job["bitrate"] as? Int, 192, "a number fills a whole-value placeholder as a number")
        XCTAssertEqual(job["overwrite"] as? Bool, true, "a boolean as a boolean")
        XCTAssertEqual(job["duration"] as? Double, 2.5)
        XCTAssertEqual(job["output"] as? String, h.path("out/ep-1.mp3"), "spliced into a longer string, relative to the submit directory")
        XCTAssertEqual(job["input"] as? String, h.path("in.wav"))
        let meta = try XCTUnwrap(job["metadata"] as? [String: Any])
        XCTAssertEqual(meta["title"] as? String, #"Épisode "1" {{slug}}"#, "data is never scanned for placeholders again")
        XCTAssertEqual(meta["comment"] as? String, "Episode 7 of Talks", "a number spliced into text as its JSON text")
        XCTAssertEqual(meta["artist"] as? String, meta["title"] as? String, "one placeholder used twice")
    }

    func testDataCannotInjectFields() throws {
        let evil = #"x", "overwrite": true, "bitrate": 320, "input": "/etc/passwd", "y": ""#
        try template("tag", #"{"kind":"mp3","input":"in.wav","output":"out/t.mp3","metadata":{"title":"{{title}}","comment":"by {{title}}"}}"#)
        let data = try String(decoding: JSONSerialization.data(withJSONObject: ["template": "tag", "data": ["title": evil]]), as: UTF8.self)
        try h.writeJob("job.json", data)
        let r = try h.run(["submit", "job.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let job = try stored(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertNil(job["overwrite"])
        XCTAssertNil(job["bitrate"])
        XCTAssertEqual(job["input"] as? String, h.path("in.wav"))
        let meta = try XCTUnwrap(job["metadata"] as? [String: Any])
        XCTAssertEqual(meta["title"] as? String, evil, "the whole text stays one string value")
        XCTAssertEqual(meta["comment"] as? String, "by " + evil)
    }

    func testMissingAndUnusedPlaceholdersAreNamedAndNothingIsQueued() throws {
        try template("short", #"{"kind":"mp3","input":"in.wav","output":"out/{{slug}}.mp3","metadata":{"title":"{{title}}","album":"{{album}}"}}"#)
        try h.writeJob("job.json", #"{"template": "short", "data": {"slug": "a", "titel": "typo", "extra": 1}}"#)
        let r = try h.run(["submit", "job.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.stderr, #"exportctl: job.json: "data": no value for {{title}}, {{album}}; unused "titel", "extra" (template 'short' has no {{titel}}, {{extra}})"# + "\n")
        XCTAssertEqual(queued, [])

        try h.writeJob("other.json", #"{"template": "short", "data": {"slug": "a", "title": "t", "album": "b"}, "bitrate": 320}"#)
        let o = try h.run(["submit", "other.json"])
        XCTAssertEqual(o.status, 65)
        XCTAssertTrue(o.stderr.contains(#"other.json: "bitrate": a job that names a "template" has only "template" and "data""#), o.stderr)

        try h.writeJob("nope.json", #"{"template": "nope", "data": {}}"#)
        let n = try h.run(["submit", "nope.json"])
        XCTAssertEqual(n.status, 66)
        XCTAssertEqual(n.stderr, "exportctl: nope.json: \"template\": no template 'nope' in \(h.spool)/templates/ (give a path with a '/' for a file elsewhere)\n")

        try "{\"kind\":\"mp3\",\"input\":\"in.wav\",\"output\":\"out/{{ slug }}.mp3\"}".write(toFile: h.path("bad.json"), atomically: true, encoding: .utf8)
        try h.writeJob("badref.json", #"{"template": "./bad.json", "data": {}}"#)
        let b = try h.run(["submit", "badref.json"])
        XCTAssertEqual(b.status, 65)
        XCTAssertTrue(b.stderr.contains(#""output": '{{ slug }}' is not a placeholder"#), b.stderr)
    }

    func testBatchFromJSONLinesPrintsOneIdPerRow() throws {
        try template("row", #"{"kind":"mp3","input":"in.wav","output":"out/{{slug}}.mp3","bitrate":"{{rate}}","metadata":{"title":"{{title}}"}}"#)
        try """
        {"slug": "a", "rate": 96, "title": "First"}

        {"slug": "b", "rate": 128, "title": "Second, with a comma"}
        {"slug": "c", "rate": 320, "title": "Third"}
        """.write(toFile: h.path("rows.jsonl"), atomically: true, encoding: .utf8)
        let r = try h.run(["submit", "--json", "--template", "row", "--data", "rows.jsonl"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try r.lines.map { try h.json($0) }
        XCTAssertEqual(lines.map { $0["line"] as? Int }, [1, 3, 4], "each id names the line of its row")
        XCTAssertEqual(lines.map { $0["file"] as? String }, ["rows.jsonl", "rows.jsonl", "rows.jsonl"])
        let jobs = try lines.map { try stored(try XCTUnwrap($0["id"] as? String)) }
        XCTAssertEqual(jobs.map { $0["bitrate"] as? Int }, [96, 128, 320])
        XCTAssertEqual(jobs.map { $0["output"] as? String }, ["a", "b", "c"].map { h.path("out/\($0).mp3") })

        // One bad row: nothing of the batch is queued, and the row is named.
        try """
        {"slug": "d", "rate": 96, "title": "ok"}
        {"slug": "e", "rate": 100, "title": "bad rate"}
        """.write(toFile: h.path("bad.jsonl"), atomically: true, encoding: .utf8)
        let before = queued.count
        let b = try h.run(["submit", "--template", "row", "--data", "bad.jsonl"])
        XCTAssertEqual(b.status, 65)
        XCTAssertTrue(b.stderr.contains("exportctl: bad.jsonl:2: \"bitrate\": 100 is not an MP3 bitrate"), b.stderr)
        XCTAssertTrue(b.stderr.contains("nothing was queued"), b.stderr)
        XCTAssertEqual(queued.count, before)
    }

    func testBatchFromCSVWithQuotedFields() throws {
        try "{\"kind\":\"mp3\",\"input\":\"in.wav\",\"output\":\"out/{{slug}}.mp3\",\"metadata\":{\"title\":\"{{title}}\",\"artist\":\"{{who}}\"}}"
            .write(toFile: h.path("csv-template.json"), atomically: true, encoding: .utf8)
        try "slug,title,who\r\nx1,\"Hello, world\",Ann\r\nx2,\"She said \"\"hi\"\"\",\"Bob\nSmith\"\r\n\r\nx3,Plain,\r\n"
            .write(toFile: h.path("rows.csv"), atomically: true, encoding: .utf8)
        let r = try h.run(["submit", "--template", "./csv-template.json", "--data", "rows.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 3)
        let metas = try r.lines.map { try XCTUnwrap(try stored($0)["metadata"] as? [String: Any]) }
        XCTAssertEqual(metas.map { $0["title"] as? String }, ["Hello, world", #"She said "hi""#, "Plain"])
        XCTAssertEqual(metas.map { $0["artist"] as? String }, ["Ann", "Bob\nSmith", ""], "an empty cell is an empty string")

        try "slug,title\nx9\n".write(toFile: h.path("short.csv"), atomically: true, encoding: .utf8)
        let s = try h.run(["submit", "--template", "./csv-template.json", "--data", "short.csv"])
        XCTAssertEqual(s.status, 65)
        XCTAssertEqual(s.stderr, "exportctl: short.csv:2: 1 field, but the header has 2\n")
    }
}
