import CFFmpeg
import ExportCore
@testable import ExportRender
import Foundation
import XCTest

/// Captions and slide text on real yuv420p pixels: where text lands, when it
/// changes, the highlighted word, boxes, scripts, escaping and fonts.
final class TextLayerTests: XCTestCase {
    static let grey = YUVColor(red: 128, green: 128, blue: 128)
    let width = 640, height = 360

    // MARK: - Helpers

    /// The three planes of a frame, copied.
    struct Planes: Equatable {
        var width: Int, height: Int
        var y: [UInt8], u: [UInt8], v: [UInt8]
        var chromaWidth: Int { (width + 1) / 2 }
        func luma(_ x: Int, _ y: Int) -> Int { Int(self.y[y * width + x]) }
        func cb(_ x: Int, _ y: Int) -> Int { Int(u[y * chromaWidth + x]) }
        func cr(_ x: Int, _ y: Int) -> Int { Int(v[y * chromaWidth + x]) }
    }

    /// A box of pixels, inclusive.
    struct Box: Equatable {
        var minX: Int, minY: Int, maxX: Int, maxY: Int
        var width: Int { maxX - minX + 1 }
        var height: Int { maxY - minY + 1 }
        var midX: Double { Double(minX + maxX) / 2 }
    }

    func greyFrame(_ w: Int? = nil, _ h: Int? = nil) throws -> Frame {
        let f = try Frame()
        try f.allocateVideo(width: w ?? width, height: h ?? height, format: AV_PIX_FMT_YUV420P)
        f.fill(TextLayerTests.grey)
        return f
    }

    func planes(_ f: Frame) -> Planes {
        func copy(_ i: Int, _ w: Int, _ h: Int) -> [UInt8] {
            var out = [UInt8]()
            out.reserveCapacity(w * h)
            for row in 0..<h { out += UnsafeBufferPointer(start: f.data(i) + row * f.linesize(i), count: w) }
            return out
        }
        let cw = (f.width + 1) / 2, ch = (f.height + 1) / 2
        return Planes(width: f.width, height: f.height, y: copy(0, f.width, f.height), u: copy(1, cw, ch), v: copy(2, cw, ch))
    }

    /// The luma pixels (in full-size coordinates) where `test` holds, as a bounding box.
    func box(_ p: Planes, where test: (Int, Int) -> Bool) -> Box? {
        var b: Box?
        for y in 0..<p.height {
            for x in 0..<p.width where test(x, y) {
                if var c = b {
                    c.minX = min(c.minX, x); c.maxX = max(c.maxX, x); c.minY = min(c.minY, y); c.maxY = max(c.maxY, y)
                    b = c
                } else {
                    b = Box(minX: x, minY: y, maxX: x, maxY: y)
                }
            }
        }
        return b
    }

    /// The box of chroma samples where `test` holds, in full-size (luma) coordinates.
    func chromaBox(_ p: Planes, where test: (Int, Int) -> Bool) -> Box? {
        var b: Box?
        for y in 0..<(p.height + 1) / 2 {
            for x in 0..<p.chromaWidth where test(x, y) {
                let c = Box(minX: 2 * x, minY: 2 * y, maxX: 2 * x + 1, maxY: 2 * y + 1)
                b = b.map { Box(minX: min($0.minX, c.minX), minY: min($0.minY, c.minY), maxX: max($0.maxX, c.maxX), maxY: max($0.maxY, c.maxY)) } ?? c
            }
        }
        return b
    }

    /// Where `after` differs from `before`, luma or chroma.
    func changed(_ before: Planes, _ after: Planes) -> Box? {
        let l = box(after) { x, y in after.luma(x, y) != before.luma(x, y) }
        let c = chromaBox(after) { x, y in after.cb(x, y) != before.cb(x, y) || after.cr(x, y) != before.cr(x, y) }
        switch (l, c) {
        case let (l?, c?): return Box(minX: min(l.minX, c.minX), minY: min(l.minY, c.minY), maxX: max(l.maxX, c.maxX), maxY: max(l.maxY, c.maxY))
        default: return l ?? c
        }
    }

    /// Prepares `layer` at `t`, blends it onto a grey frame and returns the pixels.
    func draw(_ layer: TextLayer, at t: Double) throws -> Planes {
        _ = try layer.prepare(at: t)
        let f = try greyFrame(layer.width, layer.height)
        layer.blend(onto: f)
        return planes(f)
    }

    func blank(_ w: Int? = nil, _ h: Int? = nil) throws -> Planes { planes(try greyFrame(w, h)) }

    func layer(_ captions: [CaptionCue], style: TextStyle = TextStyle(), texts: [TextLayer.TimedText] = [],
               width w: Int? = nil, height h: Int? = nil) throws -> TextLayer {
        try TextLayer(width: w ?? width, height: h ?? height, captions: captions, captionStyle: style, texts: texts)
    }

    /// Draws one caption shown from 0 to 10 s, at 1 s.
    func drawCaption(_ text: String, _ configure: (inout TextStyle) -> Void = { _ in }, width w: Int? = nil, height h: Int? = nil) throws -> Planes {
        var s = TextStyle()
        configure(&s)
        return try draw(layer([CaptionCue(start: 0, end: 10, text: text)], style: s, width: w, height: h), at: 1)
    }

    func isBlueish(_ p: Planes, _ x: Int, _ y: Int) -> Bool { p.cb(x, y) > 180 }
    func isReddish(_ p: Planes, _ x: Int, _ y: Int) -> Bool { p.cr(x, y) > 180 }

    /// Whether fontconfig has a font for `lang` (`fc-list :lang=…`).
    func hasFont(forLanguage lang: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/fc-list")
        p.arguments = [":lang=\(lang)"]
        let out = Pipe()
        p.standardOutput = out
        guard (try? p.run()) != nil else { return false }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return !data.isEmpty
    }

    // MARK: - Placement

    func testACaptionAtTheBottomChangesOnlyTheBottomBand() throws {
        let s = TextStyle().resolved(frameHeight: height)  // 18 px, margin 20, outline 1
        let p = try drawCaption("Hello there")
        let b = try XCTUnwrap(changed(try blank(), p), "the caption draws something")
        let bottom = height - Int(s.margin!)
        XCTAssertLessThanOrEqual(b.maxY, bottom + Int(s.outline!) + 2, "nothing below the bottom margin")
        XCTAssertGreaterThanOrEqual(b.minY, bottom - Int(1.5 * s.fontSize!), "nothing above one line of text")
        XCTAssertEqual(b.midX, Double(width) / 2, accuracy: 4, "centred")
        XCTAssertGreaterThan(b.width, 50)
    }

    func testACaptionAtTheTopChangesOnlyTheTopBand() throws {
        let s = TextStyle().resolved(frameHeight: height)
        let p = try drawCaption("Hello there") { $0.position = .top }
        let b = try XCTUnwrap(changed(try blank(), p))
        let top = Int(s.margin!)
        XCTAssertGreaterThanOrEqual(b.minY, top - Int(s.outline!) - 2, "nothing above the top margin")
        XCTAssertLessThanOrEqual(b.maxY, top + Int(1.5 * s.fontSize!), "nothing below one line of text")
    }

    func testMiddleLeftAndRight() throws {
        let margin = 30
        let middle = try XCTUnwrap(changed(try blank(), try drawCaption("Middle") { $0.position = .middle }))
        XCTAssertEqual(Double(middle.minY + middle.maxY) / 2, Double(height) / 2, accuracy: 6)
        let left = try XCTUnwrap(changed(try blank(), try drawCaption("Left") { $0.align = .left; $0.margin = Double(margin); $0.outline = 0 }))
        XCTAssertEqual(left.minX, margin, accuracy: 3, "left-aligned text starts at the margin")
        let right = try XCTUnwrap(changed(try blank(), try drawCaption("Right") { $0.align = .right; $0.margin = Double(margin); $0.outline = 0 }))
        XCTAssertEqual(right.maxX, width - 1 - margin, accuracy: 3, "right-aligned text ends at the margin")
    }

    func testLinesWrapWithinMaxWidth() throws {
        let text = "a rather long caption that cannot possibly fit on one line of two hundred pixels"
        let wide = try XCTUnwrap(changed(try blank(), try drawCaption(text) { $0.outline = 0 }))
        let narrow = try XCTUnwrap(changed(try blank(), try drawCaption(text) { $0.outline = 0; $0.maxWidth = 200 }))
        XCTAssertLessThanOrEqual(narrow.width, 200, "every line within maxWidth")
        XCTAssertEqual(narrow.midX, Double(width) / 2, accuracy: 8, "the narrow block is centred")
        XCTAssertGreaterThan(narrow.height, 3 * 18, "wrapped onto several lines")
        XCTAssertLessThan(wide.height, narrow.height)
        XCTAssertLessThanOrEqual(wide.width, width - 2 * 20, "by default within the frame less both margins")
    }

    func testFontSizeIsTheLineHeightAndLineSpacingItsMultiple() throws {
        // Two lines of capitals, no outline: the distance between the tops of the
        // two rows of ink is the line height.
        func pitch(_ spacing: Double) throws -> Int {
            let p = try drawCaption("HHHH\nHHHH") { $0.fontSize = 40; $0.outline = 0; $0.lineSpacing = spacing }
            let before = try blank()
            let rows = (0..<height).filter { y in (0..<width).contains { p.luma($0, y) != before.luma($0, y) } }
            let starts = rows.enumerated().filter { $0.offset == 0 || rows[$0.offset - 1] != $0.element - 1 }.map(\.element)
            XCTAssertEqual(starts.count, 2, "two separate rows of ink")
            return starts.count == 2 ? starts[1] - starts[0] : 0
        }
        XCTAssertEqual(try pitch(1.0), 40, accuracy: 1)
        XCTAssertEqual(try pitch(1.5), 60, accuracy: 1)
        XCTAssertEqual(try pitch(2.0), 80, accuracy: 1)
    }

    // MARK: - Time

    func testNothingIsDrawnOutsideTheCues() throws {
        let layer = try layer([CaptionCue(start: 1, end: 2, text: "One"), CaptionCue(start: 3, end: 4, text: "Two")])
        for t in [0.0, 0.999, 2.0, 2.5, 4.0, 100] {
            _ = try layer.prepare(at: t)
            XCTAssertTrue(layer.isEmpty, "empty at \(t) s")
            let f = try greyFrame()
            layer.blend(onto: f)
            XCTAssertEqual(planes(f), try blank(), "frame unchanged at \(t) s")
        }
        _ = try layer.prepare(at: 1.0)
        XCTAssertFalse(layer.isEmpty, "a cue shows from its start")
    }

    func testPrepareSaysWhenThePictureChanges() throws {
        let layer = try layer([CaptionCue(start: 1, end: 3, text: "One"), CaptionCue(start: 3, end: 5, text: "Two")])
        XCTAssertFalse(try layer.prepare(at: 0.5), "nothing, as before")
        XCTAssertTrue(try layer.prepare(at: 1.5), "the first cue appears")
        XCTAssertFalse(try layer.prepare(at: 1.533), "same cue")
        XCTAssertFalse(try layer.prepare(at: 2.9), "same cue")
        XCTAssertTrue(try layer.prepare(at: 3.0), "the next cue")
        XCTAssertFalse(try layer.prepare(at: 4.0))
        XCTAssertTrue(try layer.prepare(at: 5.5), "gone")
        XCTAssertFalse(try layer.prepare(at: 6))
    }

    func testTheFirstPrepareOfAStillSlideSaysChangedThenNot() throws {
        let layer = try layer([], texts: [.init(start: 0, end: 10, text: "Slide one", style: TextStyle())])
        XCTAssertTrue(try layer.prepare(at: 0))
        XCTAssertFalse(try layer.prepare(at: 1 / 30))
        XCTAssertFalse(try layer.prepare(at: 9.9))
    }

    // MARK: - Word highlighting

    func highlightCue() -> CaptionCue {
        CaptionCue(start: 1, end: 3, text: "one two three",
                   words: [.init(start: 1, end: 1.5, text: "one"), .init(start: 1.5, end: 2, text: "two"), .init(start: 2, end: 2.8, text: "three")])
    }

    var redHighlight: TextStyle {
        var s = TextStyle()
        s.highlightColor = Color(red: 255, green: 0, blue: 0)
        return s
    }

    func testTheHighlightMovesFromWordToWordAtTheWordBoundaries() throws {
        let layer = try layer([highlightCue()], style: redHighlight)
        func red(at t: Double) throws -> Box? {
            let p = try draw(layer, at: t)
            return chromaBox(p) { x, y in p.cr(x, y) > 180 }
        }
        let one = try XCTUnwrap(try red(at: 1.2), "the first word is red")
        let two = try XCTUnwrap(try red(at: 1.7), "the second word is red")
        let three = try XCTUnwrap(try red(at: 2.5))
        XCTAssertLessThan(one.maxX, two.minX, "the highlight moved right, off the first word")
        XCTAssertLessThan(two.maxX, three.minX)
        XCTAssertEqual(try red(at: 1.499), one, "still the first word 1 ms before the boundary")
        XCTAssertEqual(try red(at: 1.5), two, "the second word exactly at its start")
        XCTAssertNil(try red(at: 2.9), "after the last word nothing is highlighted")
        XCTAssertNil(try red(at: 1.0 - 0.001), "before the cue nothing at all")
        // The whole cue stays on screen while the highlight moves.
        let all = try XCTUnwrap(changed(try blank(), try draw(layer, at: 2.9)))
        XCTAssertLessThanOrEqual(all.minX, one.minX)
        XCTAssertGreaterThanOrEqual(all.maxX, three.maxX)
    }

    func testRightToLeftWordsAreHighlightedRightToLeft() throws {
        for (text, words) in [("שלום עולם", ["שלום", "עולם"]), ("مرحبا بالعالم", ["مرحبا", "بالعالم"])] {
            let cue = CaptionCue(start: 0, end: 2, text: text, words: [.init(start: 0, end: 1, text: words[0]), .init(start: 1, end: 2, text: words[1])])
            let layer = try layer([cue], style: redHighlight)
            let p1 = try draw(layer, at: 0.5), p2 = try draw(layer, at: 1.5)
            let first = try XCTUnwrap(chromaBox(p1) { x, y in p1.cr(x, y) > 180 }, text)
            let second = try XCTUnwrap(chromaBox(p2) { x, y in p2.cr(x, y) > 180 }, text)
            XCTAssertGreaterThan(first.minX, second.maxX, "\(text): the first word is read first, on the right")
        }
    }

    // MARK: - Scripts

    func testHebrewArabicAndEmojiDraw() throws {
        for text in ["שלום עולם", "مرحبا بالعالم", "🎉 launch day 🚀", "mixed עברית and العربية"] {
            let b = changed(try blank(), try drawCaption(text))
            XCTAssertNotNil(b, "'\(text)' draws something")
            XCTAssertGreaterThan(b?.width ?? 0, 40, text)
        }
    }

    func testChineseDrawsWhenAFontCoversIt() throws {
        guard hasFont(forLanguage: "zh") else { throw XCTSkip("no font for Chinese (fc-list :lang=zh finds nothing)") }
        let b = try XCTUnwrap(changed(try blank(), try drawCaption("你好，世界")))
        XCTAssertGreaterThan(b.width, 60)
    }

    func testChineseWithoutSpacesDoesNotWrap() throws {
        // A known limit (docs/design.md): Debian's libass has no Unicode line breaking.
        guard hasFont(forLanguage: "zh") else { throw XCTSkip("no font for Chinese (fc-list :lang=zh finds nothing)") }
        let b = try XCTUnwrap(changed(try blank(), try drawCaption("我们今天发布了新的产品欢迎大家来参加我们的发布会") { $0.maxWidth = 200 }))
        XCTAssertLessThan(b.height, 2 * 18, "one line")
        XCTAssertGreaterThan(b.width, 200, "past maxWidth")
    }

    // MARK: - Escaping

    func testUserTextNeverBecomesOverrideTags() throws {
        let text = "{\\b1}not a tag \\N"
        XCTAssertEqual(ASSScript.escape(text), "\\{\\b1\\}not a tag \\\u{2060}N")
        XCTAssertEqual(ASSScript.escape("a\nb\r\nc"), "a\\Nb\\Nc")
        XCTAssertEqual(ASSScript.escape("back\\"), "back\\\u{2060}", "a trailing backslash cannot join a tag that follows")
        XCTAssertEqual(ASSScript.escape("\\h \\n \\x"), "\\\u{2060}h \\\u{2060}n \\x")
        XCTAssertEqual(ASSScript.escape("nul\u{0}bell\u{7}"), "nulbell")

        var script = ASSScript(width: width, height: height, lineGap: 4)
        script.addCaption(CaptionCue(start: 0, end: 1, text: text), style: TextStyle())
        XCTAssertTrue(script.text.contains(",,\\{\\b1\\}not a tag \\\u{2060}N\n"), script.text)

        // Drawn literally: wider than the text without the would-be tag, and one line
        // at the bottom margin (a real \N would have lifted it by a line).
        let s = TextStyle().resolved(frameHeight: height)
        let literal = try XCTUnwrap(changed(try blank(), try drawCaption(text)))
        let plain = try XCTUnwrap(changed(try blank(), try drawCaption("not a tag")))
        XCTAssertGreaterThan(literal.width, plain.width + 40, "the braces, \\b1, and \\N are drawn")
        XCTAssertLessThan(literal.height, Int(1.5 * s.fontSize!), "one line")
        XCTAssertEqual(literal.maxY, plain.maxY, accuracy: 4, "on the same baseline as plain text")
    }

    func testTheWordJoinerIsInvisible() throws {
        XCTAssertEqual(try drawCaption("xx"), try drawCaption("x\u{2060}x"))
    }

    // MARK: - Box, outline, shadow

    func testABoxFillsTheLineBehindTheText() throws {
        let blue = Color(red: 0, green: 0, blue: 255)
        let p = try drawCaption("Hello box") { $0.box = true; $0.boxColor = blue; $0.fontSize = 30 }
        let boxed = try XCTUnwrap(box(p) { x, y in self.isBlueish(p, x / 2, y / 2) })
        let text = try XCTUnwrap(box(p) { x, y in p.luma(x, y) > 200 }, "white text")
        XCTAssertLessThan(boxed.minX, text.minX - 4, "the box extends past the text on the left")
        XCTAssertGreaterThan(boxed.maxX, text.maxX + 4, "and on the right")
        XCTAssertLessThanOrEqual(boxed.minY, text.minY)
        XCTAssertGreaterThanOrEqual(boxed.maxY, text.maxY)
        // The rows above the letters, across the whole box, are the box colour exactly.
        let b = YUVColor(blue), grey = TextLayerTests.grey
        // (A row or two off the letters: their anti-aliased edges, and chroma's 2×2 blocks.)
        XCTAssertGreaterThan(text.minY - 3, boxed.minY + 2, "some padding above the letters")
        for y in (boxed.minY + 2)...(text.minY - 3) {
            for x in (boxed.minX + 2)...(boxed.maxX - 2) {
                XCTAssertEqual(p.luma(x, y), Int(b.y), accuracy: 1, "(\(x), \(y)) is in the box")
                XCTAssertEqual(p.cb(x / 2, y / 2), Int(b.u), accuracy: 1, "(\(x), \(y)) is in the box")
            }
        }
        // And through the middle of the line no pixel shows the grey behind: box, text or their mix.
        let y = (text.minY + text.maxY) / 2
        for x in (boxed.minX + 2)...(boxed.maxX - 2) {
            XCTAssertFalse(p.luma(x, y) == Int(grey.y) && p.cb(x / 2, y / 2) == Int(grey.u), "(\(x), \(y)) is covered")
        }
    }

    func testATranslucentBoxIsEvenAcrossHighlightedWordsAndLines() throws {
        // Default box colour (black at alpha 160 over the grey), default sizes at 1080×1920:
        // lines 116 px apart whose boxes meet at a fraction of a pixel.
        var s = TextStyle()
        s.box = true
        s.highlightColor = Color(red: 255, green: 0, blue: 0)
        let cue = CaptionCue(start: 0, end: 2, text: "HHHH HHHH\nHHHH HHHH\nHHHH HHHH",
                             words: [.init(start: 0, end: 1, text: "HHHH"), .init(start: 1, end: 2, text: "HHHH")])
        let p = try draw(layer([cue], style: s, width: 1080, height: 1920), at: 1.5)
        let g = Int(TextLayerTests.grey.y)
        let expected = (g * (255 - 160) + 16 * 160 + 127) / 255
        let dark = try XCTUnwrap(box(p) { x, y in p.luma(x, y) < g - 10 })
        // A column in the left padding runs through the three lines' boxes and the seams between them.
        for y in (dark.minY + 2)...(dark.maxY - 2) {
            XCTAssertEqual(p.luma(dark.minX + 3, y), expected, accuracy: 2, "row \(y): one layer of box, no gap, no overlap")
        }
        // A row in the top padding runs past the highlighted word: no darker overlaps.
        let text = try XCTUnwrap(box(p) { x, y in p.luma(x, y) > 150 || p.cr(x / 2, y / 2) > 180 })
        let row = (dark.minY + text.minY) / 2
        for x in (dark.minX + 2)...(dark.maxX - 2) {
            XCTAssertEqual(p.luma(x, row), expected, accuracy: 2, "column \(x) of the padding")
        }
    }

    func testBoxesOfLinesInDifferentFontsMeetWithoutASeam() throws {
        // A fallback font (here the CJK one) has other metrics, so the lines' boxes
        // meet at a fraction of a pixel, where each covers the seam row partly.
        guard hasFont(forLanguage: "zh") else { throw XCTSkip("no font for Chinese (fc-list :lang=zh finds nothing)") }
        var s = TextStyle()
        s.box = true
        let p = try draw(layer([CaptionCue(start: 0, end: 2, text: "HHHH 你好 HHHH\nHHHH 你好 HHHH\nHHHH 你好 HHHH")], style: s,
                               width: 1080, height: 1920), at: 1)
        let g = Int(TextLayerTests.grey.y)
        let expected = (g * (255 - 160) + 16 * 160 + 127) / 255
        let dark = try XCTUnwrap(box(p) { x, y in p.luma(x, y) < g - 10 })
        for y in (dark.minY + 2)...(dark.maxY - 2) {
            XCTAssertEqual(p.luma(dark.minX + 3, y), expected, accuracy: 2, "row \(y): one layer of box, no seam")
        }
    }

    func testOutlineAndShadowColours() throws {
        let outlined = try drawCaption("Outline") { $0.outline = 4; $0.outlineColor = Color(red: 255, green: 0, blue: 0) }
        XCTAssertNotNil(chromaBox(outlined) { x, y in outlined.cr(x, y) > 180 }, "a red outline")
        let shadowed = try drawCaption("Shadow") { $0.outline = 0; $0.shadow = 8; $0.shadowColor = Color(red: 0, green: 0, blue: 255) }
        let text = try XCTUnwrap(box(shadowed) { x, y in shadowed.luma(x, y) > 200 })
        let shadow = try XCTUnwrap(chromaBox(shadowed) { x, y in shadowed.cb(x, y) > 180 }, "a blue shadow")
        XCTAssertEqual(shadow.minX - text.minX, 8, accuracy: 2, "offset right")
        XCTAssertEqual(shadow.maxY - text.maxY, 8, accuracy: 2, "and down")
        let none = try drawCaption("Outline") { $0.outline = 0 }
        let thick = try drawCaption("Outline") { $0.outline = 6 }
        let a = try XCTUnwrap(changed(try blank(), none)), b = try XCTUnwrap(changed(try blank(), thick))
        XCTAssertEqual(b.width - a.width, 12, accuracy: 3, "6 px of outline on each side")
    }

    func testCaptionsAndSlideTextAtTheSamePlaceAreStacked() throws {
        let layer = try layer([CaptionCue(start: 1, end: 3, text: "Caption")],
                              texts: [.init(start: 0, end: 4, text: "Slide text", style: TextStyle())])
        XCTAssertEqual(try bands(try draw(layer, at: 2)).count, 2, "two separate lines, not one over the other")
    }

    /// The rows with ink, as runs of consecutive rows.
    func bands(_ p: Planes) throws -> [ClosedRange<Int>] {
        let before = try blank(p.width, p.height)
        let rows = (0..<p.height).filter { y in (0..<p.width).contains { p.luma($0, y) != before.luma($0, y) } }
        var out: [ClosedRange<Int>] = []
        for y in rows {
            if let last = out.last, last.upperBound == y - 1 { out[out.count - 1] = last.lowerBound...y } else { out.append(y...y) }
        }
        return out
    }

    func testAStackedCaptionMovesBackAtTheNextWordOnceTheSlideTextHasGone() throws {
        let cue = CaptionCue(start: 1, end: 3, text: "Caption", words: [.init(start: 1, end: 2.2, text: "Caption"), .init(start: 2.2, end: 3, text: "Caption")])
        let stacked = try layer([cue], texts: [.init(start: 0, end: 2, text: "Slide text", style: TextStyle())])
        let alone = try bands(try draw(layer([CaptionCue(start: 0, end: 5, text: "Caption")]), at: 1))
        XCTAssertEqual(try bands(try draw(stacked, at: 1.5)).count, 2, "stacked over the slide text")
        let kept = try bands(try draw(stacked, at: 2.1))
        XCTAssertEqual(kept.count, 1)
        XCTAssertLessThan(kept[0].upperBound, alone[0].lowerBound, "the same event keeps its place after the slide text went")
        XCTAssertEqual(try bands(try draw(stacked, at: 2.5)), alone, "the next word's event is placed again, at the bottom")
    }

    func testTextsOfDifferentLineSpacingAreNotStacked() throws {
        var spaced = TextStyle()
        spaced.lineSpacing = 2
        let layer = try layer([CaptionCue(start: 0, end: 2, text: "Caption")], texts: [.init(start: 0, end: 2, text: "Slide text", style: spaced)])
        XCTAssertEqual(try bands(try draw(layer, at: 1)).count, 1, "both on the bottom line, the caption over the slide text")
    }

    // MARK: - Fonts

    func testAFontFileIsUsed() throws {
        let bold = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
        guard FileManager.default.fileExists(atPath: bold) else { throw XCTSkip("no \(bold)") }
        XCTAssertEqual(FontCatalog.face(inFile: bold)?.family, "DejaVu Sans")
        func ink(_ p: Planes) -> Int { p.y.filter { $0 > 200 }.count }
        let regular = try drawCaption("Bold or not") { $0.outline = 0 }
        let file = try drawCaption("Bold or not") { $0.outline = 0; $0.font = nil; $0.fontFile = bold }
        XCTAssertGreaterThan(ink(file), ink(regular) * 5 / 4, "the bold face of the file, not the family's regular one")
    }

    func testAMissingFontFileIsAnUnreadableInput() {
        var s = TextStyle()
        s.fontFile = "/nonexistent/font.ttf"
        XCTAssertThrowsError(try layer([CaptionCue(start: 0, end: 1, text: "x")], style: s)) { error in
            guard case let RenderError.inputUnreadable(path, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/font.ttf")
        }
    }

    func testAMissingFamilyFallsBackAtRender() throws {
        let fallback = try drawCaption("Fallback") { $0.font = "No Such Font Family 7f3a" }
        XCTAssertNotNil(changed(try blank(), fallback), "drawn in the default family")
        XCTAssertEqual(fallback, try drawCaption("Fallback"), "which is DejaVu Sans")
        XCTAssertFalse(FontCatalog.isInstalled(family: "No Such Font Family 7f3a"))
        XCTAssertTrue(FontCatalog.isInstalled(family: "DejaVu Sans"))
        XCTAssertTrue(FontCatalog.isInstalled(family: "dejavu SANS"), "case does not matter, as in libass")
        XCTAssertTrue(FontCatalog.isInstalled(family: "sans-serif"), "a generic name")
    }

    // MARK: - Submit-time check

    func job(style: TextStyle = TextStyle(), captionStyle: TextStyle = TextStyle(), slideStyles: [TextStyle] = [TextStyle()],
             captions: [CaptionCue] = []) -> Job {
        let slides = slideStyles.map { Slide(duration: 2, background: .black, text: "Hi", style: $0) }
        return Job(kind: .mp4, input: "", output: "/tmp/out.mp4",
                   mp4: MP4Options(width: 640, height: 360, slides: slides, captions: captions, style: style, captionStyle: captionStyle))
    }

    func problem(_ job: Job) -> JobCheck.Problem? {
        do { try JobCheck(job: job).run() } catch { return error }
        return nil
    }

    func testJobCheckRefusesFontFamiliesThatAreNotInstalled() {
        var missing = TextStyle()
        missing.font = "No Such Font Family 7f3a"
        XCTAssertEqual(problem(job(style: missing)),
                       JobCheck.Problem(field: "style.font", message: "font 'No Such Font Family 7f3a' is not installed (fc-list : family shows the installed families)"))
        XCTAssertEqual(problem(job(captionStyle: missing))?.field, "captionStyle.font")
        XCTAssertEqual(problem(job(slideStyles: [TextStyle(), TextStyle(), missing]))?.field, "slides[2].style.font")
        var installed = TextStyle()
        installed.font = "dejavu sans"
        XCTAssertNil(problem(job(style: installed, captions: [CaptionCue(start: 0, end: 1, text: "x")])))
        XCTAssertNil(problem(job()), "the default family is installed here")
    }

    func testJobCheckRefusesFontFilesThatAreMissingOrNotFonts() throws {
        var s = TextStyle()
        s.fontFile = "/nonexistent/font.ttf"
        let p = try XCTUnwrap(problem(job(style: s)))
        XCTAssertEqual(p.field, "style.fontFile")
        XCTAssertTrue(p.unreadable)
        XCTAssertEqual(p.message, "cannot read '/nonexistent/font.ttf': No such file or directory")

        let media = try MediaFixtures()
        defer { media.remove() }
        s.fontFile = try media.writeGarbage("font.ttf")
        let q = try XCTUnwrap(problem(job(slideStyles: [s])))
        XCTAssertEqual(q.field, "slides[0].style.fontFile")
        XCTAssertFalse(q.unreadable)
        XCTAssertTrue(q.message.contains("is not a font file"), q.message)

        s.fontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
        if FileManager.default.fileExists(atPath: s.fontFile!) { XCTAssertNil(problem(job(captionStyle: s))) }
    }

    // MARK: - The script

    func testTheScriptSaysWhatTheStyleSays() {
        var s = TextStyle()
        s.font = "DejaVu Serif"
        s.fontSize = 48
        s.color = Color(red: 0x11, green: 0x22, blue: 0x33)
        s.outline = 2.5
        s.outlineColor = Color(red: 0, green: 0, blue: 0, alpha: 0x40)
        s.shadow = 3
        s.position = .top
        s.align = .right
        s.margin = 40
        s.maxWidth = 800
        var script = ASSScript(width: 1920, height: 1080, lineGap: ASSScript.lineGap(for: s, frameHeight: 1080))
        script.addText("Hi", from: 1.25, to: 2.5, style: s)
        let text = script.text
        XCTAssertTrue(text.contains("PlayResX: 1920\nPlayResY: 1080\n"), text)
        XCTAssertTrue(text.contains("ScaledBorderAndShadow: yes"), text)
        // right-aligned at the top (9), 800 px wide ending 40 px from the right edge.
        XCTAssertTrue(text.contains("Style: S0,DejaVu Serif,48,&H00332211,&H00332211,&HBF000000,&H7F000000,0,0,0,0,100,100,0,0,1,2.5,3,9,1080,40,40,-1\n"), text)
        XCTAssertTrue(text.contains("Dialogue: 0,0:00:01.25,0:00:02.50,S0,,0,0,0,,Hi\n"), text)
        XCTAssertEqual(script.events, [ASSScript.Event(start: 1250, end: 2500, style: "S0", text: "Hi")])
        XCTAssertEqual(script.lineGap, 10, "(1.2 − 1) × 48 px, rounded")
    }

    func testWordEventsCoverTheCueWithoutGapsOrOverlaps() {
        var script = ASSScript(width: 640, height: 360, lineGap: 4)
        script.addCaption(highlightCue(), style: redHighlight)
        let e = script.events
        XCTAssertEqual(e.map(\.start), [1000, 1500, 2000, 2800])
        XCTAssertEqual(e.map(\.end), [1500, 2000, 2800, 3000])
        XCTAssertEqual(e[0].text, "{\\1c&H0000FF&\\1a&H00&}one{\\1c&HFFFFFF&\\1a&H00&} two three")
        XCTAssertEqual(e[1].text, "one {\\1c&H0000FF&\\1a&H00&}two{\\1c&HFFFFFF&\\1a&H00&} three")
        XCTAssertEqual(e[3].text, "one two three", "after the last word, no highlight")
        // A word that is not in the text is not highlighted; punctuation and case are forgiven.
        XCTAssertEqual(ASSScript.locate(["Hello", "WORLD", "zzz", "again"], in: Array("hello, world! again")), [0..<5, 7..<12, nil, 14..<19])
    }

    // MARK: - Speed

    func testBlendSpeedOfATwoLineCaptionAt1080x1920() throws {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        var boxed = TextStyle()
        boxed.box = true
        let text = "A two-line caption\nlike the ones on a story"
        let words = [CaptionCue.Word(start: 0, end: 10, text: "caption"), .init(start: 10, end: 20, text: "story")]
        for (name, style) in [("outlined", TextStyle()), ("boxed", boxed)] {
            let cue = CaptionCue(start: 0, end: 20, text: text, words: words)
            let layer = try TextLayer(width: 1080, height: 1920, captions: [cue], captionStyle: style, texts: [])
            let f = try greyFrame(1080, 1920)
            _ = try layer.prepare(at: 1)
            let n = 300
            var start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<n { layer.blend(onto: f) }
            let blend = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(n) / 1e6
            start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<n { _ = try layer.prepare(at: 1 + Double(i) / 30) }
            let prepare = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(n) / 1e6
            // Alternating between two words: every prepare is a change (libass's bitmaps come from its cache).
            start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<n { _ = try layer.prepare(at: i % 2 == 0 ? 5 : 15) }
            let changing = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(n) / 1e6
            func ms(_ v: Double) -> String { String(format: "%.3f", v) }
            print("TextLayer at 1080x1920, 2-line caption with a highlighted word, \(name) (\(build) build), per frame over \(n): blend \(ms(blend)) ms, prepare \(ms(prepare)) ms unchanged, \(ms(changing)) ms changed")
        }
    }
}
