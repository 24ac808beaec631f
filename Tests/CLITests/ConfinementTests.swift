import Foundation
import XCTest

/// `inputRoots` and `outputRoots`: every path of a job lies beneath them at
/// submit, and the render child opens it beneath them again with `openat2`
/// (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so a link swapped in after submit
/// fails the job instead of leading outside.
final class ConfinementTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
        for d in ["in", "in/sub", "elsewhere", "out/sub"] {
            try FileManager.default.createDirectory(atPath: h.path(d), withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try #"{"inputRoots":["\#(h.path("in"))"],"outputRoots":["\#(h.path("out"))/"]}"#
            .write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    override func tearDown() { h?.stopAll() }

    private func submit(_ json: String) throws -> CLIHarness.Result {
        try h.writeJob("job.json", json)
        return try h.run(["submit", "job.json"])
    }

    func testSubmitRefusesPathsOutsideTheRootsAndLinksBelowThem() throws {
        try h.makeTone("in/a.wav", seconds: 0.5)
        try h.makeTone("elsewhere/b.wav", seconds: 0.5)
        let inRoot = h.path("in"), outRoot = h.path("out")
        try FileManager.default.createSymbolicLink(atPath: h.path("in/link.wav"), withDestinationPath: "../elsewhere/b.wav")
        try FileManager.default.createSymbolicLink(atPath: h.path("in/dirlink"), withDestinationPath: h.path("elsewhere"))
        try FileManager.default.createSymbolicLink(atPath: h.path("out/outlink"), withDestinationPath: h.path("elsewhere"))

        let cases: [(job: String, field: String, says: String)] = [
            (#"{"kind":"mp3","input":"elsewhere/b.wav","output":"out/x.mp3"}"#, "input",
             "'\(h.path("elsewhere/b.wav"))' is not under the spool's inputRoots '\(inRoot)'"),
            (#"{"kind":"mp3","input":"in/../elsewhere/b.wav","output":"out/x.mp3"}"#, "input", "is not under the spool's inputRoots"),
            (#"{"kind":"mp3","input":"/etc/passwd","output":"out/x.mp3"}"#, "input", "'/etc/passwd' is not under the spool's inputRoots"),
            (#"{"kind":"mp3","input":"in/a.wav","output":"x.mp3"}"#, "output",
             "'\(h.path("x.mp3"))' is not under the spool's outputRoots '\(outRoot)'"),
            (#"{"kind":"mp3","input":"in/link.wav","output":"out/x.mp3"}"#, "input",
             "goes through a symbolic link below the inputRoots root '\(inRoot)'"),
            (#"{"kind":"mp3","input":"in/dirlink/b.wav","output":"out/x.mp3"}"#, "input", "goes through a symbolic link"),
            (#"{"kind":"mp3","input":"in/a.wav","output":"out/outlink/x.mp3"}"#, "output",
             "goes through a symbolic link below the outputRoots root '\(outRoot)'"),
            (#"{"kind":"mp4","audio":"in/a.wav","output":"out/x.mp4","size":"square","slides":[{"text":"hi"}],"style":{"fontFile":"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"}}"#,
             "style.fontFile", "is not under the spool's inputRoots"),
            (#"{"kind":"mp4","audio":"in/a.wav","output":"out/x.mp4","size":"square","slides":[{"text":"hi"}],"captions":"elsewhere/c.srt"}"#,
             "captions", "is not under the spool's inputRoots"),
            // Found by make fuzz: a carousel folder named as the root itself would be published over the root.
            (#"{"kind":"carousel","output":"out/","size":"square","slides":[{"text":"a"}]}"#, "output",
             "'\(outRoot)' is the spool's outputRoots root itself; name a file or folder under it"),
            (#"{"kind":"mp3","input":"in/","output":"out/x.mp3"}"#, "input",
             "'\(inRoot)' is the spool's inputRoots root itself; name a file or folder under it"),
        ]
        for c in cases {
            let r = try submit(c.job)
            XCTAssertEqual(r.status, 65, "\(c.job): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("\"\(c.field)\"") || r.stderr.contains(c.field), "\(c.job) names \(c.field): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(c.says), "\(c.job): expected “\(c.says)” in: \(r.stderr)")
        }
        XCTAssertEqual(h.files(in: "spool/queue"), [], "nothing was queued")

        // Beneath the roots, without links: accepted, and a missing file there is still exit 66.
        XCTAssertEqual(try submit(#"{"kind":"mp3","input":"in/a.wav","output":"out/sub/a.mp3"}"#).status, 0)
        let missing = try submit(#"{"kind":"mp3","input":"in/nope.wav","output":"out/a.mp3"}"#)
        XCTAssertEqual(missing.status, 66, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no such file 'in/nope.wav'"), missing.stderr)

        // A root must be absolute.
        try #"{"inputRoots":["media"]}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
        let bad = try submit(#"{"kind":"mp3","input":"in/a.wav","output":"out/a.mp3"}"#)
        XCTAssertEqual(bad.status, 78, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("inputRoots[0]") && bad.stderr.contains("'media' is not absolute"), bad.stderr)
    }

    func testLinksSwappedInAfterSubmitFailAtTheRenderAndNothingOutsideIsOpened() throws {
        let canary = h.path("elsewhere/canary-secret.wav")
        try h.makeTone("elsewhere/canary-secret.wav", seconds: 0.5)
        try h.makeTone("in/a.wav", seconds: 0.5)
        try h.makeTone("in/sub/b.wav", seconds: 0.5)
        try h.makeTone("in/good.wav", seconds: 0.5)
        try FileManager.default.createDirectory(atPath: h.path("out/gone"), withIntermediateDirectories: true)
        let swappedInput = try submit(#"{"kind":"mp3","input":"in/a.wav","output":"out/a.mp3"}"#)
        let swappedFolder = try submit(#"{"kind":"mp3","input":"in/sub/b.wav","output":"out/b.mp3"}"#)
        let swappedOutput = try submit(#"{"kind":"mp3","input":"in/good.wav","output":"out/gone/c.mp3"}"#)
        let good = try submit(#"{"kind":"mp3","input":"in/good.wav","output":"out/good.mp3"}"#)
        for r in [swappedInput, swappedFolder, swappedOutput, good] { XCTAssertEqual(r.status, 0, r.stderr) }

        // After submit: the input becomes a link to the canary, a folder on the
        // way a link to elsewhere, and the output folder a link to elsewhere.
        try FileManager.default.removeItem(atPath: h.path("in/a.wav"))
        try FileManager.default.createSymbolicLink(atPath: h.path("in/a.wav"), withDestinationPath: canary)
        try FileManager.default.moveItem(atPath: h.path("in/sub"), toPath: h.path("elsewhere/sub"))
        try FileManager.default.createSymbolicLink(atPath: h.path("in/sub"), withDestinationPath: h.path("elsewhere/sub"))
        try FileManager.default.removeItem(atPath: h.path("out/gone"))
        try FileManager.default.createSymbolicLink(atPath: h.path("out/gone"), withDestinationPath: h.path("elsewhere"))

        let trace = h.path("opens.trace")
        let strace = FileManager.default.isExecutableFile(atPath: "/usr/bin/strace")
        let r = try h.run(["daemon", "--once"], under: strace ? ["/usr/bin/strace", "-f", "-qq", "-y", "-e", "trace=open,openat,openat2", "-o", trace] : [])
        XCTAssertEqual(r.status, 0, "the daemon drained the queue and exited normally")

        func status(_ r: CLIHarness.Result) throws -> [String: Any] {
            try h.json(try h.run(["status", "--json", r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)]).stdout)
        }
        for (r, what) in [(swappedInput, "in/a.wav"), (swappedFolder, "in/sub/b.wav"), (swappedOutput, "out/gone")] {
            let s = try status(r)
            let message = (s["error"] as? [String: Any])?["message"] as? String ?? ""
            XCTAssertEqual(s["state"] as? String, "failed", "\(what): \(s)")
            XCTAssertTrue(message.contains(what) && message.contains("symbolic link"), "\(what): \(message)")
            print("swapped \(what): \(message)")
        }
        XCTAssertEqual(try status(good)["state"] as? String, "completed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.path("elsewhere")).sorted(), ["canary-secret.wav", "sub"],
                       "nothing was written outside the output root")
        XCTAssertEqual(h.files(in: "out").filter { $0.hasPrefix(".") }, [], "no temp left")
        if strace {
            let log = try String(contentsOfFile: trace, encoding: .utf8)
            XCTAssertTrue(log.contains("openat2("), "the render child opens with openat2")
            let outside = log.split(separator: "\n").filter { $0.contains("canary-secret") || $0.contains("elsewhere") }
            XCTAssertEqual(outside, [], "nothing under elsewhere/ was opened")
        } else {
            print("ConfinementTests: strace is not installed; the opens were not traced")
        }
    }
}
