import CFFmpeg
import ExportCore
@testable import ExportRender
import Foundation
import XCTest

/// Loads generated images with `StillImage` and fits them with `SlideCanvas`,
/// checking the pixels of the frame the encoder would get.
final class StillImageTests: XCTestCase {
    var media: MediaFixtures!

    override func setUpWithError() throws {
        guard MediaFixtures.ffmpegPath != nil else { throw XCTSkip("these tests need the ffmpeg CLI") }
        FFmpegLog.quiet()
        Cancellation.reset()
        media = try MediaFixtures()
    }

    override func tearDown() {
        Cancellation.reset()
        media?.remove()
    }

    let red = Color(red: 255, green: 0, blue: 0)
    let blue = Color(red: 0, green: 0, blue: 255)
    let lime = Color(red: 0, green: 255, blue: 0)
    let grey = Color(red: 128, green: 128, blue: 128)

    // MARK: - Helpers

    /// Writes one picture made by an ffmpeg lavfi graph.
    @discardableResult
    func image(_ name: String, _ graph: String, _ extra: [String] = []) throws -> String {
        try media.ffmpeg(["-f", "lavfi", "-i", graph, "-frames:v", "1"] + extra + [media.path(name)])
        return media.path(name)
    }

    /// The Y, U and V of pixel (x, y) of a yuv420p frame.
    func yuv(_ f: Frame, _ x: Int, _ y: Int) -> YUVColor {
        YUVColor(y: f.data(0)[y * f.linesize(0) + x], u: f.data(1)[(y / 2) * f.linesize(1) + x / 2],
                 v: f.data(2)[(y / 2) * f.linesize(2) + x / 2])
    }

    func assertColor(_ f: Frame, _ x: Int, _ y: Int, _ expected: Color, tolerance: Int = 3,
                     file: StaticString = #filePath, line: UInt = #line) {
        let got = yuv(f, x, y), want = YUVColor(expected)
        let ok = abs(Int(got.y) - Int(want.y)) <= tolerance && abs(Int(got.u) - Int(want.u)) <= tolerance
            && abs(Int(got.v) - Int(want.v)) <= tolerance
        XCTAssert(ok, "pixel (\(x), \(y)) is Y/U/V \(got.y)/\(got.u)/\(got.v), expected \(want.y)/\(want.u)/\(want.v) (\(expected))",
                  file: file, line: line)
    }

    /// Which of `candidates` pixel (x, y) is closest to.
    func nearest(_ f: Frame, _ x: Int, _ y: Int, _ candidates: [Color]) -> Color {
        let got = yuv(f, x, y)
        return candidates.min { a, b in
            func d(_ c: Color) -> Int {
                let w = YUVColor(c)
                return [Int(got.y) - Int(w.y), Int(got.u) - Int(w.u), Int(got.v) - Int(w.v)].map { $0 * $0 }.reduce(0, +)
            }
            return d(a) < d(b)
        }!
    }

    /// The share of luma samples of `f` within `tolerance` of `c`'s.
    func share(of c: Color, in f: Frame, tolerance: Int = 4) -> Double {
        let want = Int(YUVColor(c).y)
        var n = 0
        for y in 0..<f.height { for x in 0..<f.width where abs(Int(yuv(f, x, y).y) - want) <= tolerance { n += 1 } }
        return Double(n) / Double(f.width * f.height)
    }

    func assertYUV420(_ f: Frame, _ width: Int, _ height: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(f.width, width, "width", file: file, line: line)
        XCTAssertEqual(f.height, height, "height", file: file, line: line)
        XCTAssertEqual(f.pixelFormat, AV_PIX_FMT_YUV420P, "pixel format", file: file, line: line)
    }

    func load(_ path: String, maxPixels: Int = StillImage.maxPixels) throws -> StillImage {
        try StillImage(path: path, maxPixels: maxPixels)
    }

    /// The RenderError that loading `path` throws (fails the test if it loads), and how long it took.
    func loadError(_ path: String, maxPixels: Int = StillImage.maxPixels,
                   file: StaticString = #filePath, line: UInt = #line) -> (RenderError?, Double) {
        let t0 = Date()
        do {
            _ = try StillImage(path: path, maxPixels: maxPixels)
            XCTFail("'\(path)' loaded", file: file, line: line)
            return (nil, Date().timeIntervalSince(t0))
        } catch {
            return (error, Date().timeIntervalSince(t0))
        }
    }

    /// A copy of a JPEG with an EXIF APP1 segment right after SOI whose only tag is Orientation (0x0112).
    @discardableResult
    func withOrientation(_ jpeg: String, _ orientation: Int, to name: String) throws -> String {
        var d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: jpeg)))
        XCTAssertEqual(Array(d.prefix(2)), [0xFF, 0xD8])
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func be32(_ v: Int) -> [UInt8] { be16(v >> 16) + be16(v & 0xFFFF) }
        // TIFF header (big-endian, IFD at 8), one entry: tag 0x0112, SHORT, count 1, value; no next IFD.
        let tiff = Array("MM".utf8) + be16(42) + be32(8) + be16(1) + be16(0x0112) + be16(3) + be32(1) + be16(orientation)
            + be16(0) + be32(0)
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        d.insert(contentsOf: [0xFF, 0xE1] + be16(payload.count + 2) + payload, at: 2)
        try Data(d).write(to: URL(fileURLWithPath: media.path(name)))
        return media.path(name)
    }

    /// A copy of a WebP with an EXIF chunk whose only tag is Orientation (and the VP8X header that announces it).
    @discardableResult
    func webpWithOrientation(_ webp: String, _ orientation: Int, width: Int, height: Int, to name: String) throws -> String {
        let d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: webp)))
        XCTAssertEqual(Array(d[8..<12]), Array("WEBP".utf8))
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        var chunks = Array(d[12...])
        if Array(chunks.prefix(4)) == Array("VP8X".utf8) {
            chunks[8] |= 0x08  // the EXIF flag
        } else {
            chunks = Array("VP8X".utf8) + le(10, 4) + [0x08, 0, 0, 0] + le(width - 1, 3) + le(height - 1, 3) + chunks
        }
        let tiff = Array("MM".utf8) + be16(42) + [0, 0, 0, 8] + be16(1) + be16(0x0112) + be16(3) + [0, 0, 0, 1]
            + be16(orientation) + be16(0) + [0, 0, 0, 0]
        chunks += Array("EXIF".utf8) + le(tiff.count, 4) + tiff + (tiff.count % 2 == 1 ? [0] : [])
        let body = Array("WEBP".utf8) + chunks
        try Data(Array("RIFF".utf8) + le(body.count, 4) + body).write(to: URL(fileURLWithPath: media.path(name)))
        return media.path(name)
    }

    /// A PNG of only a header claiming `width`×`height` RGBA, one tiny IDAT and IEND.
    func craftedPNG(_ name: String, width: Int, height: Int) throws -> String {
        func be32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return ~c
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(data.count) + body + be32(Int(crc32(body)))
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", be32(width) + be32(height) + [8, 6, 0, 0, 0])
        png += chunk("IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01])  // zlib of one 0 byte
        png += chunk("IEND", [])
        try Data(png).write(to: URL(fileURLWithPath: media.path(name)))
        return media.path(name)
    }

    // MARK: - (a) contain

    func testContainLetterboxesAWideImageOnTheBackground() throws {
        let png = try image("wide.png", "color=red:s=64x32")
        let jpg = try image("wide.jpg", "color=red:s=64x32", ["-q:v", "2"])
        for (path, tolerance) in [(png, 3), (jpg, 5)] {
            let picture = try load(path)
            XCTAssertEqual([picture.width, picture.height], [64, 32])
            let canvas = SlideCanvas(width: 100, height: 100, fit: .contain, background: blue)
            XCTAssertEqual(canvas.placement(imageWidth: 64, imageHeight: 32, alignment: 2),
                           SlideCanvas.Placement(source: .init(x: 0, y: 0, width: 64, height: 32), x: 0, y: 24, width: 100, height: 50))
            let f = try canvas.render(picture)
            assertYUV420(f, 100, 100)
            for (x, y) in [(50, 50), (4, 40), (95, 60), (50, 30), (50, 70)] { assertColor(f, x, y, red, tolerance: tolerance) }
            for (x, y) in [(50, 4), (50, 20), (10, 10), (50, 80), (90, 96)] { assertColor(f, x, y, blue) }
        }
    }

    // MARK: - (b) cover

    func testCoverKeepsTheFocusInView() throws {
        // Left half red, right half blue; the square frame shows half of it.
        let path = try image("halves.png", "color=red:s=100x100[a];color=blue:s=100x100[b];[a][b]hstack")
        let picture = try load(path)
        for (focus, mostly) in [(0.1, red), (0.9, blue)] {
            let f = try SlideCanvas(width: 80, height: 80, fit: .cover, focus: FocusPoint(x: focus, y: 0.5), background: lime)
                .render(picture)
            assertYUV420(f, 80, 80)
            XCTAssertGreaterThan(share(of: mostly, in: f), 0.95, "focus x \(focus)")
            XCTAssertEqual(share(of: lime, in: f), 0, "the background never shows with cover")
        }
        // Centred: both halves, split in the middle.
        let f = try SlideCanvas(width: 80, height: 80, fit: .cover, background: lime).render(picture)
        assertColor(f, 20, 40, red)
        assertColor(f, 60, 40, blue)
        // A tall frame from a wide picture: the focus picks the column.
        let tall = try SlideCanvas(width: 40, height: 100, fit: .cover, focus: FocusPoint(x: 0.75, y: 0), background: lime).render(picture)
        assertYUV420(tall, 40, 100)
        XCTAssertGreaterThan(share(of: blue, in: tall), 0.95)
    }

    func testCoverPlacementClampsTheFocusAtTheEdges() {
        let c = SlideCanvas(width: 100, height: 100, fit: .cover, focus: FocusPoint(x: 0.95, y: 0.5))
        XCTAssertEqual(c.placement(imageWidth: 400, imageHeight: 200).source, .init(x: 200, y: 0, width: 200, height: 200))
        let centred = SlideCanvas(width: 100, height: 100, fit: .cover, focus: FocusPoint(x: 0.6, y: 0.5))
        XCTAssertEqual(centred.placement(imageWidth: 400, imageHeight: 200).source, .init(x: 140, y: 0, width: 200, height: 200))
    }

    // MARK: - (c) stretch

    func testStretchFillsTheFrame() throws {
        let picture = try load(try image("wide.png", "color=red:s=64x32"))
        let f = try SlideCanvas(width: 50, height: 80, fit: .stretch, background: blue).render(picture)
        assertYUV420(f, 50, 80)
        XCTAssertEqual(share(of: red, in: f), 1)
        for (x, y) in [(0, 0), (49, 0), (0, 79), (49, 79), (25, 40)] { assertColor(f, x, y, red) }
    }

    // MARK: - (d) transparency

    func testTransparentPNGIsCompositedOverTheBackground() throws {
        // Top half red at 50 % alpha, bottom half fully transparent.
        let path = try image("alpha.png", "color=red@0.5:s=64x32,format=rgba[a];color=black@0:s=64x32,format=rgba[b];[a][b]vstack")
        let picture = try load(path)
        XCTAssertTrue(picture.hasAlpha)
        let canvas = SlideCanvas(width: 64, height: 64, fit: .stretch, background: blue)
        let f = try canvas.render(picture)
        assertYUV420(f, 64, 64)
        // ffmpeg's red@0.5 has alpha 128: 128/255 of red over blue.
        let half = Color(red: 128, green: 0, blue: 127)
        for (x, y) in [(10, 8), (50, 20)] { assertColor(f, x, y, half) }
        for (x, y) in [(10, 44), (50, 60)] { assertColor(f, x, y, blue) }

        // The same canvas as RGBA (a carousel's picture): opaque, same colours.
        let rgba = try canvas.render(picture, as: .rgba)
        XCTAssertEqual(rgba.pixelFormat, AV_PIX_FMT_RGBA)
        XCTAssertEqual([rgba.width, rgba.height], [64, 64])
        func px(_ x: Int, _ y: Int) -> [Int] { (0..<4).map { Int(rgba.data(0)[y * rgba.linesize(0) + 4 * x + $0]) } }
        for (got, want) in [(px(10, 8), [128, 0, 127, 255]), (px(50, 60), [0, 0, 255, 255])] {
            XCTAssert(zip(got, want).allSatisfy { abs($0 - $1) <= 2 }, "\(got) != \(want)")
        }
        // Over a transparent background, the picture's own alpha remains.
        let clear = try SlideCanvas(width: 64, height: 64, fit: .stretch, background: Color(red: 0, green: 0, blue: 0, alpha: 0))
            .render(picture, as: .rgba)
        let top = (0..<4).map { Int(clear.data(0)[8 * clear.linesize(0) + 40 + $0]) }
        XCTAssert(zip(top, [255, 0, 0, 128]).allSatisfy { abs($0 - $1) <= 2 }, "\(top)")
        XCTAssertEqual(clear.data(0)[60 * clear.linesize(0) + 40 + 3], 0)

        let rgb = try canvas.render(picture, as: .rgb24)
        XCTAssertEqual(rgb.pixelFormat, AV_PIX_FMT_RGB24)
        let p = (0..<3).map { Int(rgb.data(0)[8 * rgb.linesize(0) + 30 + $0]) }
        XCTAssert(zip(p, [128, 0, 127]).allSatisfy { abs($0 - $1) <= 2 }, "\(p)")
    }

    func testPalettePNGWithTransparencyIsCroppedAndComposited() throws {
        // pal8 with a transparent entry: the crop must not move the palette.
        let rgba = try image("rgba.png", "color=red:s=32x32,format=rgba[a];color=black@0:s=32x32,format=rgba[b];[a][b]hstack")
        let path = media.path("pal.png")
        try media.ffmpeg(["-i", rgba, "-vf", "split[x][y];[x]palettegen=reserve_transparent=1[p];[y][p]paletteuse=alpha_threshold=128",
                          "-frames:v", "1", path])
        let picture = try load(path)
        XCTAssertEqual(picture.frame.pixelFormat, AV_PIX_FMT_PAL8)
        // The crop starts 12 pixels in: 20 red (25 in the frame), then 12 transparent.
        let f = try SlideCanvas(width: 40, height: 40, fit: .cover, focus: FocusPoint(x: 0.4375, y: 0.5), background: grey)
            .render(picture)
        assertColor(f, 8, 20, red)
        assertColor(f, 34, 20, grey)
    }

    // MARK: - (e) EXIF orientation

    func testEXIFOrientationsComeOutUpright() throws {
        // As shown: top-left red, top-right lime, bottom half blue; 64×48.
        let upright = "color=red:s=32x24[a];color=lime:s=32x24[b];color=blue:s=64x24[c];[a][b]hstack[t];[t][c]vstack"
        // What a camera stores for each orientation: the inverse of what showing it does.
        let stored = [1: "null", 2: "hflip", 3: "hflip,vflip", 4: "vflip", 5: "transpose=0", 6: "transpose=2",
                      7: "transpose=3", 8: "transpose=1"]
        for o in 1...8 {
            let raw = try image("o\(o)-raw.jpg", upright + "," + stored[o]!, ["-q:v", "2"])
            let path = try withOrientation(raw, o, to: "o\(o).jpg")
            let picture = try load(path)
            XCTAssertEqual(picture.orientation.rawValue, o)
            XCTAssertEqual([picture.width, picture.height], [64, 48], "orientation \(o): shown size")
            XCTAssertEqual([picture.storedWidth, picture.storedHeight], o >= 5 ? [48, 64] : [64, 48])
            // The decoder's display matrix says the same as the tag (the fallback for decoders that only set it).
            if o > 1 {
                let sd = try XCTUnwrap(av_frame_get_side_data(picture.frame.pointer, AV_FRAME_DATA_DISPLAYMATRIX))
                let m = (0..<9).map { UnsafeRawPointer(sd.pointee.data!).load(fromByteOffset: 4 * $0, as: Int32.self) }
                XCTAssertEqual(StillImage.Orientation(displayMatrix: m)?.rawValue, o, "display matrix \(m)")
            }
            for fit in [FitMode.stretch, .cover] {
                let f = try SlideCanvas(width: 64, height: 48, fit: fit, background: grey).render(picture)
                assertYUV420(f, 64, 48)
                let colours = [red, lime, blue]
                XCTAssertEqual(nearest(f, 12, 8, colours), red, "orientation \(o) \(fit): top left")
                XCTAssertEqual(nearest(f, 52, 8, colours), lime, "orientation \(o) \(fit): top right")
                XCTAssertEqual(nearest(f, 12, 40, colours), blue, "orientation \(o) \(fit): bottom left")
                XCTAssertEqual(nearest(f, 52, 40, colours), blue, "orientation \(o) \(fit): bottom right")
                assertColor(f, 12, 8, red, tolerance: 8)
            }
            // Cover of a turned picture crops in shown coordinates: a wide frame keeps the top (focus y 0).
            let top = try SlideCanvas(width: 64, height: 16, fit: .cover, focus: FocusPoint(x: 0.5, y: 0), background: grey).render(picture)
            XCTAssertEqual(nearest(top, 10, 8, [red, lime, blue]), red, "orientation \(o): cover top")
            XCTAssertEqual(nearest(top, 54, 8, [red, lime, blue]), lime, "orientation \(o): cover top")
            // Contain into a tall frame: the picture keeps its shown shape.
            let tall = try SlideCanvas(width: 48, height: 96, fit: .contain, background: grey).render(picture)
            assertColor(tall, 24, 10, grey)
            XCTAssertEqual(nearest(tall, 8, 40, [red, lime, blue, grey]), red, "orientation \(o): contain")
            XCTAssertEqual(nearest(tall, 40, 40, [red, lime, blue, grey]), lime, "orientation \(o): contain")
            XCTAssertEqual(nearest(tall, 24, 60, [red, lime, blue, grey]), blue, "orientation \(o): contain")
        }
    }

    func testWebPOrientationAndTransparency() throws {
        // As shown: 32×64, top half red, bottom half blue (lossy) or transparent (lossless with alpha);
        // stored turned a quarter counter-clockwise, tagged 6. FFmpeg 5.1 gives WebP's EXIF as a tag only.
        let lossy = try image("w.webp", "color=red:s=32x32[a];color=blue:s=32x32[b];[a][b]vstack,transpose=2", ["-c:v", "libwebp"])
        let alpha = try image("wa.webp", "color=red:s=32x32,format=rgba[a];color=black@0:s=32x32,format=rgba[b];[a][b]vstack,transpose=2",
                              ["-c:v", "libwebp", "-lossless", "1"])
        for source in [lossy, alpha] {
            let path = try webpWithOrientation(source, 6, width: 64, height: 32, to: "tagged.webp")
            let picture = try load(path)
            XCTAssertEqual(picture.orientation, .rotated90)
            XCTAssertEqual(picture.hasAlpha, source == alpha)
            XCTAssertEqual([picture.width, picture.height], [32, 64])
            let f = try SlideCanvas(width: 40, height: 80, fit: .contain, background: blue).render(picture)
            assertYUV420(f, 40, 80)
            assertColor(f, 20, 16, red, tolerance: 6)
            assertColor(f, 20, 64, blue, tolerance: 6)
        }
    }

    func testOrientationTagText() {
        XCTAssertEqual(StillImage.Orientation(exifValue: "    6"), .rotated90)
        XCTAssertEqual(StillImage.Orientation(exifValue: "3"), .rotated180)
        XCTAssertNil(StillImage.Orientation(exifValue: "    9"))
        XCTAssertNil(StillImage.Orientation(exifValue: "six"))
    }

    // MARK: - (f) bad files

    func testFilesThatAreNoImageFailCleanly() throws {
        let text = try media.writeGarbage("notes.png")
        let (e1, t1) = loadError(text)
        guard case let .invalidMedia(path, action, _)? = e1 else { return XCTFail("\(String(describing: e1))") }
        XCTAssertEqual(path, text)
        XCTAssertEqual(action, "open")
        XCTAssertLessThan(t1, 1)

        let wav = try media.writeWAV("tone.jpg", seconds: 0.2)
        let (e2, _) = loadError(wav)
        XCTAssertTrue(e2?.description.contains("not a still image (found wav)") == true, "\(String(describing: e2))")

        let (e3, _) = loadError(media.path("missing.png"))
        guard case .inputUnreadable(_, _, false)? = e3 else { return XCTFail("\(String(describing: e3))") }
        let (e4, _) = loadError(media.dir)
        XCTAssertEqual(e4, .inputUnreadable(path: media.dir, reason: "it is a directory", transient: false))
        try Data().write(to: URL(fileURLWithPath: media.path("empty.png")))
        let (e5, _) = loadError(media.path("empty.png"))
        XCTAssertEqual(e5, .invalidMedia(path: media.path("empty.png"), action: "open", reason: "the file is empty"))
    }

    func testTruncatedPNGFails() throws {
        let full = try image("bars.png", "testsrc2=s=128x128")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: full)[.size] as? Int)
        XCTAssertGreaterThan(size, 2000)
        XCTAssertNoThrow(try load(full))
        let cut = try media.truncatedCopy(of: full, to: "cut.png", bytes: size / 2)
        let (e, t) = loadError(cut)
        guard case let .invalidMedia(path, _, reason)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(path, cut)
        XCTAssertFalse(reason.isEmpty)
        XCTAssertLessThan(t, 1)
    }

    func testHugePictureIsRefusedBeforeItIsAllocated() throws {
        let huge = try craftedPNG("huge.png", width: 16000, height: 16000)
        let (e, t) = loadError(huge)
        guard case let .invalidMedia(_, action, reason)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(action, "decode")
        XCTAssertTrue(reason.contains("16000x16000"), reason)
        XCTAssertLessThan(t, 1)
        // The limit itself: a real picture over it is refused by the decoder.
        let small = try image("small.png", "color=red:s=64x64")
        let (e2, _) = loadError(small, maxPixels: 1000)
        XCTAssertEqual(e2, .invalidMedia(path: small, action: "decode",
                                         reason: "the picture is 64x64 pixels, more than the 0.0 megapixels allowed"))
        let jpeg = try image("small.jpg", "color=red:s=64x64")
        let (e3, _) = loadError(jpeg, maxPixels: 1000)
        guard case .invalidMedia(_, "decode", _)? = e3 else { return XCTFail("\(String(describing: e3))") }
        XCTAssertNoThrow(try load(small, maxPixels: 64 * 64))
    }

    func testCancelStopsTheLoad() throws {
        let path = try image("red.png", "color=red:s=64x64")
        Cancellation.request()
        let (e, _) = loadError(path)
        XCTAssertEqual(e, .cancelled(path: path))
    }

    // MARK: - (g) frame size and format

    func testFramesAreExactlyTheOutputSize() throws {
        let picture = try load(try image("odd.png", "color=red:s=333x77"))
        for (w, h) in [(1080, 1920), (1080, 1350), (1920, 1080), (100, 62), (2, 2)] {
            for fit in FitMode.allCases {
                let f = try SlideCanvas(width: w, height: h, fit: fit, background: blue).render(picture)
                assertYUV420(f, w, h)
                XCTAssertEqual(f.pointer.pointee.color_range, AVCOL_RANGE_MPEG)
            }
        }
        // A 1-bit PNG (monob, cropped at any pixel) and a 4:2:0 JPEG of odd size, cropped at the edges.
        let mono = try load(try image("mono.png", "color=white:s=61x33", ["-pix_fmt", "monob"]))
        XCTAssertEqual(mono.frame.pixelFormat, AV_PIX_FMT_MONOBLACK)
        let odd = try load(try image("odd.jpg", "color=red:s=333x77"))
        for focus in [0.0, 0.37, 1.0] {
            let m = try SlideCanvas(width: 20, height: 20, fit: .cover, focus: FocusPoint(x: focus, y: focus)).render(mono)
            assertColor(m, 10, 10, .white)
            let j = try SlideCanvas(width: 20, height: 20, fit: .cover, focus: FocusPoint(x: focus, y: focus)).render(odd)
            assertYUV420(j, 20, 20)
            assertColor(j, 10, 10, red, tolerance: 5)
        }
        // No image: the background alone.
        let plain = try SlideCanvas(width: 1080, height: 1920, fit: .cover, background: grey).render(nil)
        assertYUV420(plain, 1080, 1920)
        XCTAssertEqual(share(of: grey, in: plain, tolerance: 0), 1)
        assertColor(plain, 1079, 1919, grey, tolerance: 0)
    }

    func testSlideDefaults() {
        let o = MP4Options(width: 1080, height: 1350, background: grey)
        let c = SlideCanvas(slide: Slide(image: "/x.png"), options: o)
        XCTAssertEqual(c.fit, .cover)
        XCTAssertEqual(c.background, grey)
        XCTAssertEqual([c.width, c.height], [1080, 1350])
        let d = SlideCanvas(slide: Slide(fit: .contain, background: red), options: o)
        XCTAssertEqual(d.fit, .contain)
        XCTAssertEqual(d.background, red)
    }

    // MARK: - Speed

    /// A 12-megapixel photo into a 1080×1350 cover: decoded once, cropped, scaled once.
    func testTwelveMegapixelJPEGCoverTiming() throws {
        // Noise makes it compress like a photo (a few MB), not like flat colour bars.
        let path = try image("photo.jpg", "testsrc2=s=4000x3000,noise=alls=12:allf=t", ["-q:v", "3"])
        let bytes = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        var best = (load: Double.infinity, fit: Double.infinity)
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let picture = try load(path)
            let t1 = DispatchTime.now().uptimeNanoseconds
            XCTAssertEqual([picture.width, picture.height, Int(picture.frame.pixelFormat.rawValue)],
                           [4000, 3000, Int(AV_PIX_FMT_YUVJ420P.rawValue)])
            let f = try SlideCanvas(width: 1080, height: 1350, fit: .cover, background: .black).render(picture)
            let t2 = DispatchTime.now().uptimeNanoseconds
            assertYUV420(f, 1080, 1350)
            best = (min(best.load, Double(t1 - t0) / 1e6), min(best.fit, Double(t2 - t1) / 1e6))
        }
        print("12-megapixel JPEG (\(bytes / 1000) kB) → 1080x1350 cover: decode \(Int(best.load)) ms, fit \(Int(best.fit)) ms (best of 3)")
        XCTAssertLessThan(best.load + best.fit, 5000)
    }
}
