import Foundation
import XCTest

/// Helpers for the retention, stats, metrics and health tests: a stand-in
/// renderer (no FFmpeg), settings, and records aged by rewriting their times.
extension CLIHarness {
    /// A renderer that writes `ID3fake` (7 bytes) for an output, fails permanently for an
    /// output whose name contains `fail`, sleeps for one containing `slow`, and answers `--check`.
    func useFakeRenderer(renderSeconds: Double = 0) throws {
        let script = """
        #!/bin/sh
        case "$1" in --check) echo '{"event":"check","ok":true}'; exit 0;; esac
        case "$2" in *slow*) sleep 3;; esac
        case "$2" in *fail*) echo '{"event":"error","code":"invalid-media","message":"not audio","transient":false}'; exit 1;; esac
        sleep \(renderSeconds)
        printf 'ID3fake' > "$2"
        echo '{"event":"result","duration":1.0,"bytes":7,"mediaSeconds":1.0,"codec":"mp3"}'
        """
        try script.write(toFile: path("fake-render"), atomically: true, encoding: .utf8)
        chmod(path("fake-render"), 0o755)
        extraEnvironment["EXPORTCTL_RENDERER"] = path("fake-render")
    }

    func writeSettings(_ json: String) throws {
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        try json.write(toFile: spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    /// Submits one mp3 job writing `out/NAME` and returns its id.
    func submitMP3(_ output: String, user: String? = nil) throws -> String {
        if !FileManager.default.fileExists(atPath: path("in.wav")) { try "not really audio".write(toFile: path("in.wav"), atomically: true, encoding: .utf8) }
        let name = "job-\(UUID().uuidString.prefix(6)).json"
        try writeJob(name, #"{"kind":"mp3","input":"in.wav","output":"out/\#(output)""# + (user.map { #","user":"\#($0)""# } ?? "") + "}")
        let r = try run(["submit", name])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Rewrites the `finishedAt` of a job's status record to `secondsAgo` before now.
    func setFinished(_ id: String, secondsAgo: Double) throws {
        let p = spool + "/status/\(id).json"
        var record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: p))) as? [String: Any])
        record["finishedAt"] = CLIHarness.iso(Date(timeIntervalSinceNow: -secondsAgo))
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: p))
    }

    static func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    func setModified(_ path: String, secondsAgo: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -secondsAgo)], ofItemAtPath: path)
    }

    func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }
}
