import ExportCore
@testable import ExportRender
import Foundation
import XCTest

/// Runs the real carousel pipeline on generated images and checks what a user
/// gets: the files and their names, each file's size and pixels as the ffmpeg
/// CLI decodes them, `manifest.json` against `sha256sum`, and a PDF with `pdfinfo`.
final class CarouselPipelineTests: XCTestCase {
    var media: MediaFixtures!

    override func setUpWithError() throws {
        guard MediaFixtures.ffmpegPath != nil, MediaFixtures.ffprobePath != nil else {
            throw XCTSkip("these tests need the ffmpeg and ffprobe CLIs")
        }
        FFmpegLog.quiet()
        Cancellation.reset()
        media = try MediaFixtures()
    }

    override func tearDown() {
        Cancellation.reset()
        media?.remove()
    }

    typealias RGB = (Int, Int, Int)
    let dark = Color(red: 0x10, green: 0x18, blue: 0x20)
    let lime = Color(red: 0, green: 255, blue: 0)
    let blue = Color(red: 0, green: 0, blue: 255)
    var bottom: TextStyle {
        var s = TextStyle()
        s.position = .bottom
        return s
    }

    // MARK: - Helpers

    /// A picture made by an ffmpeg lavfi graph, PNG or JPEG by extension.
    @discardableResult
    func image(_ name: String, _ graph: String, _ extra: [String] = []) throws -> String {
        try media.ffmpeg(["-f", "lavfi", "-i", graph, "-frames:v", "1"] + extra + [media.path(name)])
        return media.path(name)
    }

    func carousel(_ slides: [CarouselSlide], width: Int = 320, height: Int = 400, format: CarouselOptions.Format = .png,
                  _ configure: (inout CarouselOptions) -> Void = { _ in }) -> Job {
        var j = Job(kind: .carousel, input: "", output: media.path("final"))
        j.id = JobID("0123456789abc-abcdef")
        j.carousel = CarouselOptions(width: width, height: height, format: format, slides: slides)
        configure(&j.carousel)
        return j
    }

    /// Renders into a fresh temp path (a folder, or a file for a PDF).
    func render(_ job: Job) throws -> (RenderResult, String) {
        let temp = media.path("out.tmp")
        try? FileManager.default.removeItem(atPath: temp)
        return (try CarouselPipeline(job: job, tempPath: temp).run(), temp)
    }

    /// The error the render throws; the temp output must not be left behind.
    func renderError(_ job: Job, file: StaticString = #filePath, line: UInt = #line) -> RenderError? {
        do {
            let r = try CarouselPipeline(job: job, tempPath: media.path("failed.tmp")).run()
            XCTFail("expected a failure, got \(r)", file: file, line: line)
            return nil
        } catch {
            XCTAssertFalse(media.exists("failed.tmp"), "the temp output is removed on failure", file: file, line: line)
            return error
        }
    }

    func files(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    /// (width, height) from ffprobe and packed RGB24 pixels from the ffmpeg CLI.
    func decode(_ file: String) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let p = try MediaFixtures.run(MediaFixtures.ffprobePath!, ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                                                  "stream=width,height", "-of", "csv=p=0", file])
        guard p.status == 0 else { throw FixtureError("ffprobe \(file) failed: \(p.stderr)") }
        let dims = String(decoding: p.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ",").compactMap { Int($0) }
        guard dims.count == 2 else { throw FixtureError("ffprobe \(file): no size") }
        let r = try MediaFixtures.run(MediaFixtures.ffmpegPath!, ["-nostdin", "-v", "error", "-i", file, "-f", "rawvideo",
                                                                 "-pix_fmt", "rgb24", "-"])
        guard r.status == 0 else { throw FixtureError("decoding \(file) failed: \(r.stderr)") }
        XCTAssertEqual(r.stdout.count, dims[0] * dims[1] * 3, "\(file): one whole picture")
        return (dims[0], dims[1], [UInt8](r.stdout))
    }

    func pixel(_ img: (width: Int, height: Int, rgb: [UInt8]), _ x: Int, _ y: Int) -> RGB {
        let i = 3 * (y * img.width + x)
        return (Int(img.rgb[i]), Int(img.rgb[i + 1]), Int(img.rgb[i + 2]))
    }

    func assertColor(_ c: RGB, _ expected: Color, tolerance: Int = 12, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let ok = abs(c.0 - Int(expected.red)) <= tolerance && abs(c.1 - Int(expected.green)) <= tolerance
            && abs(c.2 - Int(expected.blue)) <= tolerance
        XCTAssert(ok, "\(what): got \(c), expected \(expected)", file: file, line: line)
    }

    /// Pixels brighter than the dark background (some channel above `threshold`), inside and outside `box`.
    func bright(_ img: (width: Int, height: Int, rgb: [UInt8]), inside box: (x0: Int, y0: Int, x1: Int, y1: Int),
                threshold: Int = 64) -> (inside: Int, outside: Int, outsideAt: [(Int, Int)]) {
        var inside = 0, outside = 0, at: [(Int, Int)] = []
        for y in 0..<img.height {
            for x in 0..<img.width {
                let c = pixel(img, x, y)
                guard max(c.0, c.1, c.2) > threshold else { continue }
                if x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1 { inside += 1 } else {
                    outside += 1
                    if at.count < 5 { at.append((x, y)) }
                }
            }
        }
        return (inside, outside, at)
    }

    func paddingBox(_ o: CarouselOptions) -> (x0: Int, y0: Int, x1: Int, y1: Int) {
        let p = Int(o.padding)
        return (p, p, o.width - p, o.height - p)
    }

    func sha256sum(_ file: String) throws -> String {
        let r = try MediaFixtures.run("/usr/bin/sha256sum", [file])
        guard r.status == 0 else { throw FixtureError("sha256sum failed: \(r.stderr)") }
        return String(String(decoding: r.stdout, as: UTF8.self).prefix(64))
    }

    func tool(_ name: String) throws -> String {
        guard let p = ["/usr/bin/" + name, "/usr/local/bin/" + name].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { throw XCTSkip("\(name) is not installed (poppler-utils)") }
        return p
    }

    /// A copy of a JPEG with an EXIF APP1 segment right after SOI whose only tag is Orientation (0x0112).
    func withOrientation(_ jpeg: String, _ orientation: Int, to name: String) throws -> String {
        var d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: jpeg)))
        XCTAssertEqual(Array(d.prefix(2)), [0xFF, 0xD8])
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func be32(_ v: Int) -> [UInt8] { be16(v >> 16) + be16(v & 0xFFFF) }
        let tiff = Array("MM".utf8) + be16(42) + be32(8) + be16(1) + be16(0x0112) + be16(3) + be32(1) + be16(orientation)
            + be16(0) + be32(0)
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        d.insert(contentsOf: [0xFF, 0xE1] + be16(payload.count + 2) + payload, at: 2)
        try Data(d).write(to: URL(fileURLWithPath: media.path(name)))
        return media.path(name)
    }

    // MARK: - Folder and manifest

    func testAFolderOfNumberedSlidesAndAManifestThatMatchesTheFiles() throws {
        let photo = try image("photo.jpg", "testsrc2=s=640x480", ["-q:v", "3"])
        let job = carousel([CarouselSlide(image: photo, fit: .cover), CarouselSlide(text: "The one idea worth keeping from this episode"),
                            CarouselSlide(image: photo, text: "Text over an image", style: bottom)], width: 1080, height: 1350) {
            $0.pageNumbers = true
        }
        let (result, out) = try render(job)
        XCTAssertEqual(try files(out), ["01.png", "02.png", "03.png", "manifest.json"])
        XCTAssertEqual(result.slides, 3)
        XCTAssertEqual(result.width, 1080)
        XCTAssertEqual(result.height, 1350)
        for name in ["01.png", "02.png", "03.png"] {
            let img = try decode(out + "/" + name)
            XCTAssertEqual([img.width, img.height], [1080, 1350], name)
            let still = try StillImage(path: out + "/" + name)
            XCTAssertEqual([still.width, still.height], [1080, 1350], name)
        }
        let m = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))) as? [String: Any])
        XCTAssertEqual(m["job"] as? String, "0123456789abc-abcdef")
        XCTAssertEqual(m["format"] as? String, "png")
        XCTAssertEqual(m["width"] as? Int, 1080)
        XCTAssertEqual(m["height"] as? Int, 1350)
        let slides = try XCTUnwrap(m["slides"] as? [[String: Any]])
        XCTAssertEqual(slides.map { $0["file"] as? String }, ["01.png", "02.png", "03.png"])
        var total = 0
        for s in slides {
            let path = out + "/" + (s["file"] as? String ?? "")
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            total += size
            XCTAssertEqual(s["width"] as? Int, 1080)
            XCTAssertEqual(s["height"] as? Int, 1350)
            XCTAssertEqual(s["bytes"] as? Int, size, "bytes of \(path)")
            XCTAssertEqual(s["sha256"] as? String, try sha256sum(path), "sha256 of \(path)")
        }
        total += try XCTUnwrap(FileManager.default.attributesOfItem(atPath: out + "/manifest.json")[.size] as? Int)
        XCTAssertEqual(result.bytes, Int64(total), "the result's bytes are the folder's")
    }

    func testTenOrMoreSlidesAreNumberedWithTwoDigits() throws {
        let job = carousel((1...12).map { CarouselSlide(text: "Slide \($0)") }, width: 64, height: 64) { $0.padding = 4 }
        let (_, out) = try render(job)
        XCTAssertEqual(try files(out), (1...12).map { String(format: "%02d.png", $0) } + ["manifest.json"])
    }

    // MARK: - Pictures

    func testCoverFocusPicksThePartOfTheImage() throws {
        // Left half red, right half blue; a square slide shows half of it.
        let halves = try image("halves.png", "color=red:s=100x100[a];color=blue:s=100x100[b];[a][b]hstack")
        let job = carousel([CarouselSlide(image: halves, fit: .cover, focus: FocusPoint(x: 0.1, y: 0.5)),
                            CarouselSlide(image: halves, fit: .cover, focus: FocusPoint(x: 0.9, y: 0.5))], width: 200, height: 200)
        let (_, out) = try render(job)
        let left = try decode(out + "/01.png"), right = try decode(out + "/02.png")
        XCTAssertNotEqual(left.rgb, right.rgb, "different focus, different pictures")
        func share(_ img: (width: Int, height: Int, rgb: [UInt8]), _ c: Color) -> Double {
            var n = 0
            for y in 0..<img.height { for x in 0..<img.width {
                let p = pixel(img, x, y)
                if abs(p.0 - Int(c.red)) < 24 && abs(p.1 - Int(c.green)) < 24 && abs(p.2 - Int(c.blue)) < 24 { n += 1 }
            } }
            return Double(n) / Double(img.width * img.height)
        }
        XCTAssertGreaterThan(share(left, Color(red: 255, green: 0, blue: 0)), 0.95, "focus x 0.1 shows the red half")
        XCTAssertGreaterThan(share(right, blue), 0.95, "focus x 0.9 shows the blue half")
    }

    func testContainLetterboxesOnTheBackgroundColour() throws {
        let wide = try image("wide.png", "color=red:s=200x100")
        let job = carousel([CarouselSlide(image: wide, fit: .contain), CarouselSlide(image: wide, fit: .contain, background: blue)],
                           width: 200, height: 200) { $0.background = self.lime }
        let (_, out) = try render(job)
        let a = try decode(out + "/01.png"), b = try decode(out + "/02.png")
        let red = Color(red: 255, green: 0, blue: 0)
        for (x, y) in [(100, 100), (5, 60), (195, 140)] {
            assertColor(pixel(a, x, y), red, "picture at \(x),\(y)")
            assertColor(pixel(b, x, y), red, "picture at \(x),\(y)")
        }
        for (x, y) in [(100, 5), (100, 40), (100, 160), (5, 195)] {
            assertColor(pixel(a, x, y), lime, "the job's background at \(x),\(y)")
            assertColor(pixel(b, x, y), blue, "the slide's own background at \(x),\(y)")
        }
    }

    func testAnEXIFRotatedJPEGComesOutUpright() throws {
        // As shown: top-left red, top-right lime, bottom half blue (64×48), stored turned with orientation 6.
        let upright = "color=red:s=32x24[a];color=lime:s=32x24[b];color=blue:s=64x24[c];[a][b]hstack[t];[t][c]vstack"
        let raw = try image("raw.jpg", upright + ",transpose=2", ["-q:v", "2"])
        let turned = try withOrientation(raw, 6, to: "turned.jpg")
        let job = carousel([CarouselSlide(image: turned, fit: .stretch)], width: 128, height: 96)
        let (_, out) = try render(job)
        let img = try decode(out + "/01.png")
        XCTAssertEqual([img.width, img.height], [128, 96])
        assertColor(pixel(img, 24, 16), Color(red: 255, green: 0, blue: 0), tolerance: 40, "top left")
        assertColor(pixel(img, 104, 16), lime, tolerance: 40, "top right")
        assertColor(pixel(img, 24, 80), blue, tolerance: 40, "bottom left")
        assertColor(pixel(img, 104, 80), blue, tolerance: 40, "bottom right")
    }

    // MARK: - Text

    func testTextIsDrawnInsideThePaddingBoxOnly() throws {
        let job = carousel([CarouselSlide(text: "The one idea worth keeping from this episode")]) {
            $0.background = self.dark
            $0.padding = 40
        }
        let (_, out) = try render(job)
        let b = bright(try decode(out + "/01.png"), inside: paddingBox(job.carousel))
        XCTAssertGreaterThan(b.inside, 200, "the text is drawn")
        XCTAssertEqual(b.outside, 0, "text outside the padding box at \(b.outsideAt)")
    }

    func testLongTextShrinksAndStillFitsTheBox() throws {
        let long = String(repeating: "Every word of this paragraph must stay inside the box. ", count: 14)
        let job = carousel([CarouselSlide(text: long)]) {
            $0.background = self.dark
            $0.padding = 40
            $0.minFontSize = 6
        }
        let layout = try CarouselLayout(options: job.carousel)
        let full = try XCTUnwrap(job.carousel.resolvedStyle(of: job.carousel.slides[0]).fontSize)
        let chosen = try XCTUnwrap(layout.fontSizes[0])
        XCTAssertLessThan(chosen, full, "the text was shrunk from \(full) px")
        XCTAssertGreaterThanOrEqual(chosen, 6)
        let (_, out) = try render(job)
        let b = bright(try decode(out + "/01.png"), inside: paddingBox(job.carousel))
        XCTAssertGreaterThan(b.inside, 500, "the text is drawn")
        XCTAssertEqual(b.outside, 0, "shrunk text outside the padding box at \(b.outsideAt)")
    }

    func testOverlongTextFailsNamingTheSlide() throws {
        let long = String((0..<3000).map { i in i % 7 == 6 ? " " : Character(UnicodeScalar(97 + i % 26)!) })
        let job = carousel([CarouselSlide(text: "Fine"), CarouselSlide(text: long)]) { $0.minFontSize = 40 }
        guard case let .invalidJob(message)? = renderError(job) else { return XCTFail("expected invalidJob") }
        XCTAssertTrue(message.contains("slides[1].text"), message)
        XCTAssertFalse(message.contains("slides[0]"), message)
    }

    func testRightToLeftCJKAndEmojiTextRender() throws {
        var texts = ["שלום עולם, זה קרוסלה", "مرحبا بالعالم", "🎉 launch day 🚀"]
        let cjk = try MediaFixtures.run("/usr/bin/fc-list", [":lang=zh"])
        let hasCJK = !String(decoding: cjk.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        if hasCJK { texts.append("你好，世界。这是一个轮播。") }
        let job = carousel(texts.map { CarouselSlide(text: $0) }) { $0.background = self.dark }
        let (_, out) = try render(job)
        for (i, t) in texts.enumerated() {
            let b = bright(try decode(out + String(format: "/%02d.png", i + 1)), inside: paddingBox(job.carousel))
            XCTAssertGreaterThan(b.inside, 50, "'\(t)' draws something")
            XCTAssertEqual(b.outside, 0, "'\(t)' outside the box at \(b.outsideAt)")
        }
        if !hasCJK { throw XCTSkip("no font for Chinese (fc-list :lang=zh is empty); RTL and emoji were checked") }
    }

    /// A short caption over a picture, at the bottom (the example job's third slide): it fits
    /// easily, so it keeps its font size, and its box stays inside the padding box.
    func testShortTextOverAnImageAtTheBottomKeepsItsSizeAndStaysInTheBox() throws {
        // Mid grey, so both the white text and the translucent dark box differ from it.
        let plain = try image("grey.png", "color=0x808080:s=320x240")
        for (w, h) in [(1080, 1350), (320, 400)] {
            let job = carousel([CarouselSlide(image: plain, text: "Text over an image", style: bottom)], width: w, height: h) {
                $0.background = self.dark
            }
            let layout: CarouselLayout
            do { layout = try CarouselLayout(options: job.carousel) } catch {
                XCTFail("\(w)x\(h): a three-word caption is refused: \(error)")
                continue
            }
            XCTAssertEqual(layout.fontSizes[0], job.carousel.resolvedStyle(of: job.carousel.slides[0]).fontSize,
                           "\(w)x\(h): a short caption is not shrunk")
            let (_, out) = try render(job)
            let img = try decode(out + "/01.png"), box = paddingBox(job.carousel)
            var inside = 0, outside = 0, at: [(Int, Int)] = []
            for y in 0..<h { for x in 0..<w {
                let c = pixel(img, x, y)
                guard max(abs(c.0 - 128), abs(c.1 - 128), abs(c.2 - 128)) > 16 else { continue }
                if x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1 { inside += 1 } else { outside += 1; if at.count < 5 { at.append((x, y)) } }
            } }
            let b = (inside: inside, outside: outside, outsideAt: at)
            XCTAssertGreaterThan(b.inside, 100)
            XCTAssertEqual(b.outside, 0, "\(w)x\(h): text or box outside the padding box at \(b.outsideAt)")
            try FileManager.default.removeItem(atPath: out)
        }
    }

    // MARK: - Page numbers

    func testPageNumbersAreDrawnBottomRightOnlyWhenAsked() throws {
        let plain = try image("plain.png", "color=0x101820:s=320x400")
        let slides = [CarouselSlide(image: plain), CarouselSlide(image: plain), CarouselSlide(image: plain)]
        let (_, without) = try render(carousel(slides))
        for i in 1...3 {
            let b = bright(try decode(without + "/0\(i).png"), inside: (0, 0, 320, 400))
            XCTAssertEqual(b.inside, 0, "no page number on slide \(i) without pageNumbers")
        }
        try FileManager.default.moveItem(atPath: without, toPath: media.path("without"))
        let (_, with) = try render(carousel(slides) { $0.pageNumbers = true })
        var corners: [[UInt8]] = []
        for i in 1...3 {
            let img = try decode(with + "/0\(i).png")
            let b = bright(img, inside: (160, 300, 320, 400))
            XCTAssertGreaterThan(b.inside, 10, "slide \(i): a page number in the bottom-right corner")
            XCTAssertEqual(b.outside, 0, "slide \(i): drawn only in the corner, not at \(b.outsideAt)")
            var corner: [UInt8] = []
            for y in 300..<400 { corner += img.rgb[(y * 320 + 160) * 3..<(y * 320 + 320) * 3] }
            corners.append(corner)
        }
        XCTAssertNotEqual(corners[0], corners[1], "1/3 and 2/3 differ")
        XCTAssertNotEqual(corners[1], corners[2], "2/3 and 3/3 differ")
    }

    // MARK: - Formats

    func testJPEGAndWebPSlidesDecodeAtTheSlideSize() throws {
        let photo = try image("photo.png", "testsrc2=s=320x240")
        for (format, ext) in [(CarouselOptions.Format.jpeg, "jpg"), (.webp, "webp")] {
            let job = carousel([CarouselSlide(image: photo), CarouselSlide(text: "Two")], width: 360, height: 640, format: format) {
                $0.quality = 80
            }
            let (result, out) = try render(job)
            XCTAssertEqual(try files(out), ["01.\(ext)", "02.\(ext)", "manifest.json"], "\(format)")
            XCTAssertEqual(result.codec, format.rawValue)
            for n in ["01", "02"] {
                let img = try decode(out + "/\(n).\(ext)")
                XCTAssertEqual([img.width, img.height], [360, 640], "\(n).\(ext)")
            }
            let m = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))) as? [String: Any])
            XCTAssertEqual(m["format"] as? String, format.rawValue)
            let probe = try MediaFixtures.run(MediaFixtures.ffprobePath!, ["-v", "error", "-show_entries", "stream=codec_name",
                                                                          "-of", "csv=p=0", out + "/01.\(ext)"])
            XCTAssertEqual(String(decoding: probe.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                           format == .jpeg ? "mjpeg" : "webp")
        }
    }

    func testPDFIsOneFileWithAPagePerSlideAtTheSlideSize() throws {
        let pdfinfo = try tool("pdfinfo")
        let photo = try image("photo.jpg", "testsrc2=s=320x240")
        let job = carousel([CarouselSlide(image: photo), CarouselSlide(text: "Middle"), CarouselSlide(image: photo, text: "Last", style: bottom)],
                           width: 540, height: 720, format: .pdf)
        let (result, out) = try render(job)
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: out, isDirectory: &isDir))
        XCTAssertFalse(isDir.boolValue, "a PDF carousel is one file")
        XCTAssertEqual(result.slides, 3)
        let r = try MediaFixtures.run(pdfinfo, [out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let info = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertTrue(info.range(of: #"Pages:\s+3\n"#, options: .regularExpression) != nil, info)
        XCTAssertTrue(info.range(of: #"Page size:\s+540 x 720 pts"#, options: .regularExpression) != nil, info)
        XCTAssertEqual(try XCTUnwrap(FileManager.default.attributesOfItem(atPath: out)[.size] as? Int), Int(result.bytes))
    }

    // MARK: - Failures

    func testAMissingImageFailsAndLeavesNoTempFolder() throws {
        for format in [CarouselOptions.Format.png, .pdf] {
            let job = carousel([CarouselSlide(text: "First"), CarouselSlide(image: media.path("nope.png"))], format: format)
            guard case let .inputUnreadable(path, _, _)? = renderError(job) else { return XCTFail("expected inputUnreadable (\(format))") }
            XCTAssertEqual(path, media.path("nope.png"))
        }
    }

    func testACancelledRenderLeavesNoTempFolder() throws {
        let job = carousel([CarouselSlide(text: "One"), CarouselSlide(text: "Two")])
        Cancellation.request()
        guard case .cancelled? = renderError(job) else { return XCTFail("expected cancelled") }
    }
}
