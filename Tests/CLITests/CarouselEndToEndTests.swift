import Foundation
import XCTest

/// carousel jobs through the built binaries: submit → daemon → wait publishes
/// the folder whole, overwrite swaps it, `render` writes a PDF in the
/// foreground, and what cannot be drawn is refused at submit.
final class CarouselEndToEndTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
        try h.makeMedia("photo.jpg", ["-f", "lavfi", "-i", "testsrc2=s=640x480", "-frames:v", "1"])
        try h.makeMedia("photo2.jpg", ["-f", "lavfi", "-i", "color=orange:s=400x300", "-frames:v", "1"])
    }

    override func tearDown() { h?.stopAll() }

    private func carousel(_ extra: String = "", output: String = "out/ep1-carousel",
                          slides: String = #"[{"image":"photo.jpg","fit":"cover"},{"text":"The one idea worth keeping from this episode"},{"image":"photo2.jpg","text":"Text over an image","textPosition":"bottom"}]"#) -> String {
        ##"{"kind":"carousel","output":"\##(output)","size":"square","style":{"font":"DejaVu Sans","fontSize":64,"color":"#ffffff","background":"#101820","align":"center","padding":80},"pageNumbers":true,"slides":"## + slides
            + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    private func submit(_ json: String, name: String = "job.json") throws -> CLIHarness.Result {
        try h.writeJob(name, json)
        return try h.run(["submit", name])
    }

    private func manifest(_ folder: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: h.path(folder + "/manifest.json")))) as? [String: Any])
    }

    /// ffprobe's width and height of an image.
    private func size(_ file: String) throws -> [Int] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        p.arguments = ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", file]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
    }

    private func noTemp(_ file: StaticString = #filePath, _ line: UInt = #line) {
        XCTAssertEqual(h.files(in: "out").filter { $0.hasSuffix(".exportctl-tmp") || $0.hasPrefix(".") }, [], "no temp output left",
                       file: file, line: line)
    }

    func testACarouselGoesThroughTheDaemonAndOverwriteReplacesTheFolderWhole() throws {
        let s = try submit(carousel())
        XCTAssertEqual(s.status, 0, s.stderr)
        let id = s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "120", id])
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        XCTAssertEqual(h.files(in: "out/ep1-carousel"), ["01.png", "02.png", "03.png", "manifest.json"])
        for n in ["01", "02", "03"] { XCTAssertEqual(try size(h.path("out/ep1-carousel/\(n).png")), [1080, 1080], n) }
        let m = try manifest("out/ep1-carousel")
        XCTAssertEqual(m["job"] as? String, id)
        XCTAssertEqual((m["slides"] as? [[String: Any]])?.count, 3)
        noTemp()
        let status = try h.json(try h.run(["status", "--json", id]).stdout)
        XCTAssertEqual(status["state"] as? String, "completed")
        let out = try XCTUnwrap(status["output"] as? [String: Any])
        XCTAssertEqual(out["slides"] as? Int, 3)
        XCTAssertNil(out["duration"], "a carousel has no duration")
        XCTAssertTrue(w.stdout.contains("3 slides"), w.stdout)

        // The same output again without overwrite: refused at submit, the folder untouched.
        try Data("old".utf8).write(to: URL(fileURLWithPath: h.path("out/ep1-carousel/extra.txt")))
        let again = try submit(carousel(slides: #"[{"text":"Only one"}]"#))
        XCTAssertEqual(again.status, 65, again.stdout + again.stderr)
        XCTAssertTrue(again.stderr.contains("exists"), again.stderr)
        XCTAssertTrue(again.stderr.contains("\"overwrite\": true"), again.stderr)

        // With overwrite: a new folder in its place, the old files gone.
        let o = try submit(carousel(#""overwrite":true"#, slides: #"[{"text":"Only one"},{"text":"And two"}]"#))
        XCTAssertEqual(o.status, 0, o.stderr)
        let id2 = o.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let w2 = try h.run(["wait", "--timeout", "120", id2])
        XCTAssertEqual(w2.status, 0, w2.stdout + w2.stderr)
        XCTAssertEqual(h.files(in: "out/ep1-carousel"), ["01.png", "02.png", "manifest.json"], "replaced whole: no 03.png, no extra.txt")
        XCTAssertEqual(try manifest("out/ep1-carousel")["job"] as? String, id2)
        XCTAssertEqual(h.files(in: "out"), ["ep1-carousel"])
        noTemp()
    }

    func testAPDFCarouselRendersInTheForeground() throws {
        try h.writeJob("pdf.json", carousel(#""format":"pdf","quality":80"#, output: "out/ep1.pdf"))
        let r = try h.run(["render", "pdf.json"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(h.files(in: "out"), ["ep1.pdf"])
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pdfinfo") else { throw XCTSkip("pdfinfo (poppler-utils) is not installed") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/pdfinfo")
        p.arguments = [h.path("out/ep1.pdf")]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let info = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(info.range(of: #"Pages:\s+3\n"#, options: .regularExpression) != nil, info)
        XCTAssertTrue(info.range(of: #"Page size:\s+1080 x 1080 pts"#, options: .regularExpression) != nil, info)
    }

    func testTextThatCannotFitIsRefusedAtSubmitNamingTheSlide() throws {
        let long = String((0..<3000).map { i in i % 7 == 6 ? " " : Character(UnicodeScalar(97 + i % 26)!) })
        let r = try submit(carousel(#""minFontSize":40"#, slides: #"[{"text":"Fine"},{"text":"\#(long)"}]"#))
        XCTAssertEqual(r.status, 65, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("\"slides[1].text\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("does not fit"), r.stderr)
        XCTAssertEqual(h.files(in: "spool/queue").filter { $0.hasSuffix(".json") }, [], "nothing queued")
    }

    func testAMissingFontIsRefusedAtSubmitNamingTheField() throws {
        let r = try submit(carousel().replacingOccurrences(of: #""font":"DejaVu Sans""#, with: #""font":"No Such Font 123""#))
        XCTAssertEqual(r.status, 65, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("\"style.font\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("No Such Font 123"), r.stderr)
    }

    /// Watches the output name from another thread while the daemon renders
    /// 20 large slides: whenever anything is there, it is the whole set.
    func testTheOutputNameNeverShowsAHalfWrittenFolder() throws {
        try h.makeMedia("big.jpg", ["-f", "lavfi", "-i", "gradients=s=3000x2000:seed=5,noise=alls=10", "-frames:v", "1"])
        let slides = "[" + (0..<20).map { ##"{"image":"big.jpg","fit":"cover","focus":{"x":0.\##($0 % 10),"y":0.5}}"## }.joined(separator: ",") + "]"
        let s = try submit(carousel(output: "out/big", slides: slides).replacingOccurrences(of: #""size":"square""#, with: #""size":"portrait""#))
        XCTAssertEqual(s.status, 0, s.stderr)
        let id = s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let folder = h.path("out/big")
        nonisolated(unsafe) var seen: [Int] = []
        nonisolated(unsafe) var stop = false
        let watcher = Thread {
            while !stop {
                if let names = try? FileManager.default.contentsOfDirectory(atPath: folder) { seen.append(names.count) }
                usleep(500)
            }
        }
        watcher.start()
        _ = try h.startDaemon()
        let w = try h.run(["wait", "--timeout", "120", id])
        stop = true
        usleep(20_000)
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr)
        XCTAssertFalse(seen.isEmpty, "the watcher saw the published folder")
        XCTAssertEqual(Set(seen), [21], "every look at the output name found all 20 slides and the manifest: \(Set(seen))")
        noTemp()
    }
}
