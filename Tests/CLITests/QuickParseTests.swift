import Foundation
import XCTest

/// `submit` and `status` lines that skip swift-argument-parser (`QuickParse`)
/// mean what the full parser reads, and everything else still reaches it.
final class QuickParseTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.installFakeRenderer()
        _ = try h.writeJob("a.json", #"{"kind":"mp3","input":"in.wav","output":"out/a.mp3"}"#)
    }

    override func tearDown() { h?.stopAll() }

    private func queued(in spool: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool + "/queue")) ?? []).sorted()
    }

    func testPlainLinesQueueAndReportAsTheFullParserWould() throws {
        let other = h.path("other")
        for args in [["submit", "--spool", other, "a.json"], ["submit", "a.json", "--spool=\(other)"], ["--spool", other, "submit", "--", "a.json"]] {
            let r = try h.run(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertTrue(queued(in: other).contains(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + ".json"), "\(args) queues in --spool")
        }
        XCTAssertEqual(queued(in: h.spool), [], "nothing went to EXPORTCTL_SPOOL")

        let json = try h.run(["submit", "--json", "a.json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let obj = try h.json(json.stdout)
        let id = try XCTUnwrap(obj["id"] as? String)
        XCTAssertEqual(obj["file"] as? String, "a.json")
        let status = try h.run(["status", id, "--json"])
        XCTAssertEqual(try h.json(status.stdout)["position"] as? Int, 1)
        XCTAssertTrue(try h.run(["status", id]).stdout.hasPrefix("\(id)  queued      position 1"))

        // An operand after `--` is a file even when it looks like an option.
        let dashed = try h.run(["submit", "--", "--not-an-option.json"])
        XCTAssertEqual(dashed.status, 66)
        XCTAssertTrue(dashed.stderr.contains("--not-an-option.json: no such file"), dashed.stderr)
    }

    func testAnythingElseGoesToTheFullParser() throws {
        let help = try h.run(["submit", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: exportctl submit"), help.stdout)
        XCTAssertTrue(try h.run(["status", "-h"]).stdout.contains("USAGE: exportctl status"))

        let unknown = try h.run(["submit", "--bogus", "a.json"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("Unknown option '--bogus'"), unknown.stderr)
        let lonely = try h.run(["submit", "--timeout", "5", "a.json"])
        XCTAssertEqual(lonely.status, 64)
        XCTAssertTrue(lonely.stderr.contains("--timeout goes with --wait"), lonely.stderr)
        let two = try h.run(["status", "0000000000000-000000", "0000000000000-000001"])
        XCTAssertEqual(two.status, 64)
        XCTAssertTrue(two.stderr.contains("Unexpected argument"), two.stderr)
        let noValue = try h.run(["status", "--spool"])
        XCTAssertEqual(noValue.status, 64)
        XCTAssertTrue(noValue.stderr.contains("Missing value for '--spool"), noValue.stderr)
        XCTAssertEqual(queued(in: h.spool), [], "none of these queued anything")

        // A repeated flag is the full parser's to judge; it queues the job once.
        let twice = try h.run(["submit", "--json", "--json", "a.json"])
        XCTAssertEqual(queued(in: h.spool).count, twice.status == 0 ? 1 : 0, twice.stderr)
    }
}
