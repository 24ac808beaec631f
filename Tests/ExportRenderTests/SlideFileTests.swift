import CFFmpeg
import CLibdeflate
import ExportCore
import Foundation
import XCTest
@testable import ExportRender

/// Slide files (PNG, JPEG, WebP) and PDF carousels, checked with the ffmpeg
/// CLI and poppler's `pdfinfo` / `pdftoppm` as independent readers.
final class SlideFileTests: XCTestCase {
    private var fixtures: MediaFixtures!

    override func setUpWithError() throws { fixtures = try MediaFixtures() }
    override func tearDown() { fixtures?.remove() }

    typealias RGB = (r: UInt8, g: UInt8, b: UInt8)
    static let red: RGB = (255, 0, 0)
    static let blue: RGB = (0, 0, 255)

    // MARK: - Helpers

    /// An RGB24 frame of `width`×`height` whose pixel (x, y) is `pixel(x, y)`.
    static func frame(_ width: Int, _ height: Int, _ pixel: (Int, Int) -> RGB) throws -> Frame {
        let f = try Frame()
        try f.allocateVideo(width: width, height: height, format: AV_PIX_FMT_RGB24)
        let base = f.data(0), stride = f.linesize(0)
        for y in 0..<height {
            let row = base + y * stride
            for x in 0..<width {
                let c = pixel(x, y)
                row[3 * x] = c.r
                row[3 * x + 1] = c.g
                row[3 * x + 2] = c.b
            }
        }
        return f
    }

    /// Left half red, right half blue (or the colours given).
    static func halves(_ width: Int = 200, _ height: Int = 120, left: RGB = red, right: RGB = blue) throws -> Frame {
        try frame(width, height) { x, _ in x < width / 2 ? left : right }
    }

    /// The frame's pixels, packed (no row padding).
    static func packed(_ f: Frame) -> [UInt8] {
        var out = [UInt8]()
        for y in 0..<f.height { out += UnsafeBufferPointer(start: f.data(0) + y * f.linesize(0), count: 3 * f.width) }
        return out
    }

    /// Photo-like: smooth gradients with noise on top (a cheap xorshift, so debug builds stay quick).
    static func photoLike(_ width: Int, _ height: Int) throws -> Frame {
        var s: UInt32 = 0x9E37_79B9
        return try frame(width, height) { x, y in
            s ^= s << 13; s ^= s >> 17; s ^= s << 5
            let n = Int(s & 31) - 16
            func c(_ v: Int) -> UInt8 { UInt8(max(0, min(255, v + n))) }
            return (c(x * 255 / width), c(y * 255 / height), c(128 + (x - y) / 8))
        }
    }

    /// Text-like: a flat background with rows of small white "glyph" blocks.
    static func textLike(_ width: Int, _ height: Int) throws -> Frame {
        try frame(width, height) { x, y in
            let line = y % 90, col = x % 38
            let inText = x > 80 && x < width - 80 && y > 200 && y < height - 200 && line < 56 && col < 26 && (x / 38 + y / 90) % 7 != 0
            return inText ? (240, 240, 240) : (0x10, 0x18, 0x20)
        }
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = fixtures.path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// (width, height) and packed RGB24 pixels of an image file, decoded by the ffmpeg CLI.
    func decode(_ file: String) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        guard let ffprobe = MediaFixtures.ffprobePath, let ffmpeg = MediaFixtures.ffmpegPath else {
            throw XCTSkip("the ffmpeg CLI is not installed")
        }
        let p = try MediaFixtures.run(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                                                "-of", "csv=p=0", file])
        guard p.status == 0 else { throw FixtureError("ffprobe \(file) failed: \(p.stderr)") }
        let dims = String(decoding: p.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ",").compactMap { Int($0) }
        guard dims.count == 2 else { throw FixtureError("ffprobe \(file): no size in '\(dims)'") }
        let r = try MediaFixtures.run(ffmpeg, ["-nostdin", "-v", "error", "-i", file, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        guard r.status == 0 else { throw FixtureError("decoding \(file) failed: \(r.stderr)") }
        return (dims[0], dims[1], [UInt8](r.stdout))
    }

    func assertColour(_ image: (width: Int, height: Int, rgb: [UInt8]), x: Int, y: Int, _ expected: RGB, tolerance: Int,
                      _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let i = 3 * (y * image.width + x)
        guard i + 2 < image.rgb.count else { return XCTFail("\(what): no pixel at \(x),\(y)", file: file, line: line) }
        let got = (Int(image.rgb[i]), Int(image.rgb[i + 1]), Int(image.rgb[i + 2]))
        let ok = abs(got.0 - Int(expected.r)) <= tolerance && abs(got.1 - Int(expected.g)) <= tolerance
            && abs(got.2 - Int(expected.b)) <= tolerance
        XCTAssertTrue(ok, "\(what): pixel \(x),\(y) is \(got), expected about \(expected)", file: file, line: line)
    }

    func tool(_ name: String) throws -> String {
        guard let p = ["/usr/bin/" + name, "/usr/local/bin/" + name].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { throw XCTSkip("\(name) is not installed (poppler-utils)") }
        return p
    }

    // MARK: - PNG

    func testPNGDecodesToTheSamePixels() throws {
        let slide = try Self.halves()
        let encoder = try SlideFileEncoder(format: .png, quality: 90, width: 200, height: 120)
        let png = try encoder.encode(slide)
        let image = try decode(try write(png, "01.png"))
        XCTAssertEqual(image.width, 200)
        XCTAssertEqual(image.height, 120)
        XCTAssertTrue(image.rgb == Self.packed(slide), "the PNG does not decode to the slide's pixels")
    }

    /// The PNG of `slide` as FFmpeg's own `png` encoder writes it with its defaults (the ffmpeg CLI).
    func ffmpegPNG(_ slide: Frame, _ name: String) throws -> [UInt8] {
        guard let ffmpeg = MediaFixtures.ffmpegPath else { throw XCTSkip("the ffmpeg CLI is not installed") }
        let raw = try write(Self.packed(slide), name + ".rgb")
        let out = fixtures.path(name + "-ffmpeg.png")
        let r = try MediaFixtures.run(ffmpeg, ["-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                                               "\(slide.width)x\(slide.height)", "-i", raw, "-frames:v", "1", "-c:v", "png", out])
        guard r.status == 0 else { throw FixtureError("ffmpeg png failed: \(r.stderr)") }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    func testPNGOfPhotoAndTextIsExactCRCCheckedAndNoLargerThanFFmpegs() throws {
        guard let ffmpeg = MediaFixtures.ffmpegPath else { throw XCTSkip("the ffmpeg CLI is not installed") }
        for (name, slide) in [("photo", try Self.photoLike(540, 676)), ("text", try Self.textLike(540, 676))] {
            let encoder = try SlideFileEncoder(format: .png, quality: 90, width: 540, height: 676)
            let png = try encoder.encode(slide)
            let file = try write(png, name + ".png")
            XCTAssertTrue(try decode(file).rgb == Self.packed(slide), "\(name): the PNG does not decode to the slide's pixels")
            // FFmpeg's decoder checks every chunk's CRC and fails on a bad one with these flags.
            let strict = try MediaFixtures.run(ffmpeg, ["-nostdin", "-v", "error", "-err_detect", "crccheck", "-xerror", "-i", file, "-f", "null", "-"])
            XCTAssertEqual(strict.status, 0, "\(name): a CRC or the zlib stream is wrong: \(strict.stderr)")
            XCTAssertEqual(Array(png.prefix(8)), PNGWriter.signature)
            XCTAssertEqual(Array(png[12..<16]), Array("IHDR".utf8))
            XCTAssertEqual(Array(png.suffix(12)), [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82])
            let theirs = try ffmpegPNG(slide, name)
            XCTAssertLessThanOrEqual(png.count, theirs.count + theirs.count / 100,
                                     "\(name): \(png.count) bytes, FFmpeg's png encoder writes \(theirs.count)")
        }
    }

    func testDamagedPNGIsRefusedByTheStrictDecoder() throws {
        // The check above can fail: one flipped byte in the compressed data breaks the CRC.
        guard let ffmpeg = MediaFixtures.ffmpegPath else { throw XCTSkip("the ffmpeg CLI is not installed") }
        var png = try SlideFileEncoder(format: .png, quality: 90, width: 200, height: 120).encode(try Self.photoLike(200, 120))
        png[png.count / 2] ^= 0x40
        let file = try write(png, "damaged.png")
        let strict = try MediaFixtures.run(ffmpeg, ["-nostdin", "-v", "error", "-err_detect", "crccheck", "-xerror", "-i", file, "-f", "null", "-"])
        XCTAssertNotEqual(strict.status, 0, "a damaged PNG passed the strict decode")
    }

    func testReadBackCheckFindsEveryKindOfDamage() throws {
        let png = try SlideFileEncoder(format: .png, quality: 90, width: 200, height: 120).encode(try Self.photoLike(200, 120))
        XCTAssertNil(PNGWriter.problem(in: png, width: 200, height: 120))
        func problem(_ file: [UInt8], _ w: Int = 200, _ h: Int = 120) -> String { PNGWriter.problem(in: file, width: w, height: h) ?? "none" }
        XCTAssertEqual(problem(png, 200, 121), "it is 200×120, expected 200×121")
        XCTAssertEqual(problem(Array(png.prefix(png.count / 2))), "a chunk runs past the end of the file (truncated?)")
        var flipped = png
        flipped[png.count / 2] ^= 1
        XCTAssertEqual(problem(flipped), "the CRC of a IDAT chunk is wrong")
        XCTAssertEqual(problem(png + [0]), "there are bytes after IEND")
        XCTAssertEqual(problem(Array(png.prefix(png.count - 12))), "IHDR or IEND is missing")
        XCTAssertEqual(problem(try SlideFileEncoder(format: .jpeg, quality: 90, width: 200, height: 120).encode(try Self.halves())),
                       "it is not a PNG file")
        // A valid PNG of other rows (CRCs right, stream too short for the size) is refused too.
        let other = try SlideFileEncoder(format: .png, quality: 90, width: 200, height: 60).encode(try Self.photoLike(200, 60))
        var relabelled = other
        relabelled[20..<24] = [0, 0, 0, 120]
        let crc = relabelled.withUnsafeBytes { libdeflate_crc32(0, $0.baseAddress! + 12, 17) }
        relabelled[29..<33] = [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)][...]
        XCTAssertEqual(problem(relabelled), "the image data does not decompress to 200×120 pixels")
    }

    func testOneEncoderServesManySlides() throws {
        let encoder = try SlideFileEncoder(format: .png, quality: 90, width: 200, height: 120)
        let jpeg = try SlideFileEncoder(format: .jpeg, quality: 90, width: 200, height: 120)
        let colours: [RGB] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)]
        for (i, c) in colours.enumerated() {
            let slide = try Self.halves(left: c, right: colours[(i + 1) % colours.count])
            let image = try decode(try write(try encoder.encode(slide), "\(i).png"))
            XCTAssertTrue(image.rgb == Self.packed(slide), "slide \(i) as PNG")
            let j = try decode(try write(try jpeg.encode(slide), "\(i).jpg"))
            assertColour(j, x: 40, y: 60, c, tolerance: 24, "slide \(i) as JPEG, left")
        }
    }

    func testRefusesAFrameOfAnotherSizeOrFormat() throws {
        let encoder = try SlideFileEncoder(format: .jpeg, quality: 90, width: 200, height: 120)
        XCTAssertThrowsError(try encoder.encode(try Self.halves(100, 120)))
        let yuv = try Frame()
        try yuv.allocateVideo(width: 200, height: 120, format: AV_PIX_FMT_YUV420P)
        XCTAssertThrowsError(try encoder.encode(yuv))
    }

    // MARK: - JPEG

    func testJPEGDecodesToTheSizeAndColours() throws {
        let slide = try Self.halves()
        for format in [CarouselOptions.Format.jpeg, .pdf] {
            let jpeg = try SlideFileEncoder(format: format, quality: 90, width: 200, height: 120).encode(slide)
            XCTAssertEqual(Array(jpeg.prefix(2)), [0xFF, 0xD8])
            let image = try decode(try write(jpeg, "01.jpg"))
            XCTAssertEqual(image.width, 200)
            XCTAssertEqual(image.height, 120)
            assertColour(image, x: 50, y: 60, Self.red, tolerance: 16, "JPEG left")
            assertColour(image, x: 150, y: 60, Self.blue, tolerance: 16, "JPEG right")
        }
    }

    func testJPEGQualityMapping() {
        XCTAssertEqual(SlideFileEncoder.jpegQScale(quality: 100), 2)
        XCTAssertEqual(SlideFileEncoder.jpegQScale(quality: 90), 2)
        XCTAssertEqual(SlideFileEncoder.jpegQScale(quality: 80), 3)
        XCTAssertEqual(SlideFileEncoder.jpegQScale(quality: 75), 4)
        XCTAssertEqual(SlideFileEncoder.jpegQScale(quality: 50), 8)
        XCTAssertEqual(SlideFileEncoder.jpegQScale(quality: 20), 20)
        XCTAssertEqual(SlideFileEncoder.jpegQScale(quality: 1), 31)
        let all = (1...100).map { SlideFileEncoder.jpegQScale(quality: $0) }
        XCTAssertEqual(all, all.sorted(by: >), "a higher quality never gives a coarser qscale")
    }

    func testHigherQualityGivesLargerFiles() throws {
        let slide = try Self.photoLike(320, 240)
        for format in [CarouselOptions.Format.jpeg, .webp] {
            let sizes = try [20, 50, 90].map { try SlideFileEncoder(format: format, quality: $0, width: 320, height: 240).encode(slide).count }
            XCTAssertLessThan(sizes[0], sizes[1], "\(format) 20 vs 50: \(sizes)")
            XCTAssertLessThan(sizes[1], sizes[2], "\(format) 50 vs 90: \(sizes)")
        }
    }

    /// The qscale reaches the encoder as `-q:v` does: each quality's file is the size
    /// of the ffmpeg CLI's at the mapped `-q:v` (same picture, same yuvj420p).
    func testJPEGQualityActsLikeTheCLIsQV() throws {
        let (w, h) = (320, 240)
        let slide = try Self.photoLike(w, h)
        let raw = try write(Self.packed(slide), "slide.rgb")
        for quality in [90, 75, 30] {
            let ours = try SlideFileEncoder(format: .jpeg, quality: quality, width: w, height: h).encode(slide).count
            let q = SlideFileEncoder.jpegQScale(quality: quality)
            try fixtures.ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(w)x\(h)", "-i", raw,
                                 "-pix_fmt", "yuvj420p", "-q:v", "\(q)", fixtures.path("cli\(q).jpg")])
            let cli = try Data(contentsOf: URL(fileURLWithPath: fixtures.path("cli\(q).jpg"))).count
            XCTAssertEqual(Double(ours), Double(cli), accuracy: Double(cli) * 0.03, "quality \(quality) vs -q:v \(q)")
        }
    }

    /// Quality 90 looks good: the decoded photo-like slide is close to the original (PSNR).
    func testJPEGAt90IsClose() throws {
        let slide = try Self.photoLike(320, 240)
        let image = try decode(try write(try SlideFileEncoder(format: .jpeg, quality: 90, width: 320, height: 240).encode(slide), "q90.jpg"))
        let original = Self.packed(slide)
        XCTAssertEqual(image.rgb.count, original.count)
        var se = 0.0
        for (a, b) in zip(image.rgb, original) { se += Double((Int(a) - Int(b)) * (Int(a) - Int(b))) }
        let psnr = 10 * log10(255 * 255 / (se / Double(original.count)))
        XCTAssertGreaterThan(psnr, 34, "PSNR \(psnr) dB")
    }

    // MARK: - WebP

    func testWebPIsACompleteRIFFFileWithTheSizeAndColours() throws {
        let slide = try Self.halves()
        let webp = try SlideFileEncoder(format: .webp, quality: 90, width: 200, height: 120).encode(slide)
        XCTAssertEqual(Array(webp.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(Array(webp[8..<12]), Array("WEBP".utf8))
        let size = Int(webp[4]) | Int(webp[5]) << 8 | Int(webp[6]) << 16 | Int(webp[7]) << 24
        XCTAssertEqual(size + 8, webp.count, "the RIFF size counts the whole file")
        let image = try decode(try write(webp, "01.webp"))
        XCTAssertEqual(image.width, 200)
        XCTAssertEqual(image.height, 120)
        assertColour(image, x: 50, y: 60, Self.red, tolerance: 24, "WebP left")
        assertColour(image, x: 150, y: 60, Self.blue, tolerance: 24, "WebP right")
    }

    func testBareWebPChunkIsWrappedInRIFF() throws {
        // A VP8L chunk of 5 payload bytes (odd: padded to even in the file).
        let chunk: [UInt8] = Array("VP8L".utf8) + [5, 0, 0, 0, 1, 2, 3, 4, 5]
        let file = try XCTUnwrap(SlideFileEncoder.webpFile(chunk))
        XCTAssertEqual(Array(file.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(Array(file[4..<8]), [18, 0, 0, 0])  // "WEBP" + 8-byte chunk header + 5 + 1 pad
        XCTAssertEqual(file.count, 26)
        XCTAssertEqual(Array(file[8..<12]), Array("WEBP".utf8))
        XCTAssertNil(SlideFileEncoder.webpFile(Array("JUNKJUNK".utf8)))
        XCTAssertNil(SlideFileEncoder.webpFile(Array("VP8L".utf8) + [50, 0, 0, 0, 1]), "chunk longer than the data")
    }

    // MARK: - Threads

    func testTwoEncodersOnTwoThreadsGiveTheSameFilesAsOne() throws {
        let formats: [CarouselOptions.Format] = [.png, .jpeg, .webp]
        let serial = try formats.map(Self.sixFiles)
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var files = [Int: [[UInt8]]]()
            var errors = [String]()
        }
        let results = Results()
        for (k, format) in formats.enumerated() {
            DispatchQueue.concurrentPerform(iterations: 2) { t in
                do {
                    let f = try Self.sixFiles(format)
                    results.lock.withLock { results.files[2 * k + t] = f }
                } catch {
                    results.lock.withLock { results.errors.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(results.errors, [])
        for (k, format) in formats.enumerated() {
            XCTAssertTrue(results.files[2 * k] == serial[k] && results.files[2 * k + 1] == serial[k], "\(format) on two threads")
        }
    }

    // MARK: - PDF

    /// Six slides of `format` from one encoder (what each of two threads does).
    static func sixFiles(_ format: CarouselOptions.Format) throws -> [[UInt8]] {
        let encoder = try SlideFileEncoder(format: format, quality: 80, width: 160, height: 96)
        return try (0..<6).map { i in
            try encoder.encode(try Self.halves(160, 96, left: (UInt8(40 * i), 0, 0), right: (0, UInt8(30 * i), 255)))
        }
    }

    /// Three pages: red | blue twice, then green | white.
    func pdf() throws -> (bytes: [UInt8], slides: [Frame]) {
        let encoder = try SlideFileEncoder(format: .pdf, quality: 90, width: 200, height: 120)
        let colours: [(RGB, RGB)] = [(Self.red, Self.blue), (Self.red, Self.blue), ((0, 200, 0), (255, 255, 255))]
        let slides = try colours.map { try Self.halves(left: $0.0, right: $0.1) }
        let pages = try slides.map { PDFWriter.Page(jpeg: try encoder.encode($0), width: 200, height: 120) }
        return (PDFWriter.document(pages: pages), slides)
    }

    func testPDFPagesAndSizeByPdfinfo() throws {
        let pdfinfo = try tool("pdfinfo")
        let file = try write(try pdf().bytes, "carousel.pdf")
        let r = try MediaFixtures.run(pdfinfo, [file])
        let out = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.isEmpty, "pdfinfo complains: \(r.stderr)")
        XCTAssertTrue(out.contains("\nPages:           3\n"), out)
        XCTAssertTrue(out.contains("Page size:       200 x 120 pts"), out)
        XCTAssertTrue(out.contains("Producer:        exportctl"), out)
        XCTAssertTrue(out.contains("PDF version:     1.4"), out)
    }

    func testPDFPageRendersTheSlide() throws {
        let pdftoppm = try tool("pdftoppm")
        let file = try write(try pdf().bytes, "carousel.pdf")
        let r = try MediaFixtures.run(pdftoppm, ["-r", "72", "-png", "-f", "2", "-l", "2", "-singlefile", file, fixtures.path("page2")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.isEmpty, "pdftoppm complains: \(r.stderr)")
        let image = try decode(fixtures.path("page2.png"))
        XCTAssertEqual(image.width, 200)
        XCTAssertEqual(image.height, 120)
        for (x, y, c) in [(20, 10, Self.red), (60, 100, Self.red), (140, 10, Self.blue), (180, 100, Self.blue)] {
            assertColour(image, x: x, y: y, c, tolerance: 24, "page 2")
        }
        // Page 3 has other colours: the pages are not all the same picture.
        let r3 = try MediaFixtures.run(pdftoppm, ["-r", "72", "-png", "-f", "3", "-l", "3", "-singlefile", file, fixtures.path("page3")])
        XCTAssertEqual(r3.status, 0, r3.stderr)
        let page3 = try decode(fixtures.path("page3.png"))
        assertColour(page3, x: 50, y: 60, (0, 200, 0), tolerance: 24, "page 3 left")
        assertColour(page3, x: 150, y: 60, (255, 255, 255), tolerance: 24, "page 3 right")
    }

    func testPDFReaderReadsBackTheSizes() throws {
        let bytes = try pdf().bytes
        XCTAssertEqual(PDFWriter.pageCount(of: bytes), 3)
        let pages = try XCTUnwrap(PDFWriter.pages(of: bytes))
        XCTAssertEqual(pages.count, 3)
        for p in pages {
            XCTAssertEqual([p.width, p.height, p.imageWidth, p.imageHeight], [200, 120, 200, 120])
        }
        XCTAssertEqual(PDFWriter.pageCount(of: PDFWriter.document(pages: [])), 0)
    }

    func testPDFEmbedsTheJPEGAsIs() throws {
        let jpeg = try SlideFileEncoder(format: .pdf, quality: 90, width: 200, height: 120).encode(try Self.halves())
        let bytes = PDFWriter.document(pages: [PDFWriter.Page(jpeg: jpeg, width: 200, height: 120)])
        XCTAssertNotNil(bytes.firstRange(of: jpeg), "the JPEG bytes appear unchanged in the PDF")
        XCTAssertNotNil(bytes.firstRange(of: Array("q 200 0 0 120 0 0 cm /Im1 Do Q".utf8)))
    }

    func testPDFReaderRejectsTruncatedOrDamagedFiles() throws {
        let bytes = try pdf().bytes
        for keep in [bytes.count - 3, bytes.count - 7, bytes.count - 40, bytes.count / 2, 400, 9, 0] {
            XCTAssertNil(PDFWriter.pages(of: Array(bytes.prefix(keep))), "kept \(keep) of \(bytes.count) bytes")
            XCTAssertNil(PDFWriter.pageCount(of: Array(bytes.prefix(keep))), "kept \(keep) of \(bytes.count) bytes")
        }
        // A picture cut short inside a file whose end is intact: the xref offsets no longer point at objects.
        var cut = bytes
        let jpegStart = try XCTUnwrap(cut.firstRange(of: [0xFF, 0xD8])).lowerBound
        cut.removeSubrange((jpegStart + 100)..<(jpegStart + 200))
        XCTAssertNil(PDFWriter.pages(of: cut))
        XCTAssertNil(PDFWriter.pages(of: Array("not a pdf".utf8)))
    }

    // MARK: - Timing

    /// Prints how long one 1080×1350 slide takes to encode (photo-like and
    /// text-like, PNG, JPEG at 90 and WebP at 90); median of 3, after one warm-up.
    func testTimingOfPortraitSlides() throws {
        let (w, h) = (1080, 1350)
        let slides = [("photo-like", try Self.photoLike(w, h)), ("text-like", try Self.textLike(w, h))]
        for format in [CarouselOptions.Format.png, .jpeg, .webp] {
            let encoder = try SlideFileEncoder(format: format, quality: 90, width: w, height: h)
            for (name, slide) in slides {
                var times = [Double]()
                var size = 0
                _ = try encoder.encode(slide)
                for _ in 0..<3 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    size = try encoder.encode(slide).count
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
                let median = times.sorted()[1]
                print("slide timing: \(format) \(name) \(w)x\(h): \(String(format: "%.1f", median)) ms, \(size) bytes")
            }
        }
    }
}
