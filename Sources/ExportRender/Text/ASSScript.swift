import ExportCore

/// The ASS script (Advanced SubStation Alpha v4+) that libass draws captions
/// and slide text from.
///
/// `PlayResX`/`PlayResY` are the output frame size, so one script pixel is one
/// output pixel: font sizes, outlines, shadows and margins are written in
/// pixels as the job gives them. Each distinct `TextStyle` becomes one ASS
/// style; each span of time whose
/// drawing does not change becomes one `Dialogue` event. User text is escaped
/// (`escape`), so it can never become override tags.
///
/// Word highlighting: a cue with word timings becomes one event per spoken
/// word (and per gap between words), each showing the whole cue with that
/// word in the highlight colour, so the highlight moves exactly at the word
/// boundaries. Times are whole milliseconds (`Event.start`/`end`); the script
/// text can only say centiseconds, so `TextLayer` sets each parsed event's
/// time from `events`.
///
/// Boxes are libass's opaque box (BorderStyle 3) in `boxColor`: one per
/// line, or per run of one colour within a line (a highlighted word is a run
/// of its own), padded by the style's Outline at the sides and `\ybord` above
/// and below. Where these boxes overlap or meet, `TextLayer` unions them so a
/// translucent box is drawn once.
///
/// Line spacing is not part of ASS; libass has one extra line gap per
/// renderer (`ass_set_line_spacing`). So a script holds text of one
/// `lineGap`; `TextLayer` makes one script and renderer per distinct gap.
struct ASSScript {
    /// One `Dialogue` line.
    struct Event: Equatable {
        /// Milliseconds of the output.
        var start: Int64
        var end: Int64
        var style: String
        /// ASS event text: escaped user text and this script's override tags.
        var text: String
    }

    let width: Int
    let height: Int
    /// Extra pixels between lines, for every style of this script (see `lineGap(for:)`).
    let lineGap: Int
    /// The name libass selects each `fontFile`'s face by (path → name), from `FontCatalog.Face.selectionName`.
    let fontFileNames: [String: String]

    /// The resolved styles, in order of first use; style `i` is named `S<i>`.
    private(set) var styles: [TextStyle] = []
    private var items: [Item] = []

    /// One text on screen for a span of time.
    private struct Item {
        var start: Int64
        var end: Int64
        var style: Int
        /// Escaped text with override tags (the highlighted word).
        var text: String
    }

    init(width: Int, height: Int, lineGap: Int, fontFileNames: [String: String] = [:]) {
        self.width = width
        self.height = height
        self.lineGap = lineGap
        self.fontFileNames = fontFileNames
    }

    // MARK: - Building

    /// Adds a caption: one event, or with word timings one event per word and per gap.
    mutating func addCaption(_ cue: CaptionCue, style: TextStyle) {
        let s = self.style(style)
        let start = ASSScript.milliseconds(cue.start), end = ASSScript.milliseconds(cue.end)
        guard end > start, !cue.text.isEmpty else { return }
        let plain = ASSScript.escape(cue.text)
        guard !cue.words.isEmpty else {
            items.append(Item(start: start, end: end, style: s, text: plain))
            return
        }
        let characters = Array(cue.text)
        let ranges = ASSScript.locate(cue.words.map(\.text), in: characters)
        let base = styles[s].color!, highlight = styles[s].highlightColor!
        let on = "{\\1c\(ASSScript.colorBGR(highlight))\\1a\(ASSScript.alpha(highlight))}"
        // Back to the style's colour explicitly: `\r` would also reset a box's `\ybord`.
        let off = "{\\1c\(ASSScript.colorBGR(base))\\1a\(ASSScript.alpha(base))}"
        for (from, to, word) in ASSScript.segments(cue, start: start, end: end) {
            var text = plain
            if let word, let r = ranges[word] {
                text = ASSScript.escape(String(characters[..<r.lowerBound])) + on + ASSScript.escape(String(characters[r]))
                    + off + ASSScript.escape(String(characters[r.upperBound...]))
            }
            items.append(Item(start: from, end: to, style: s, text: text))
        }
    }

    /// Adds a text shown from `start` to `end` seconds (slide text).
    mutating func addText(_ text: String, from start: Double, to end: Double, style: TextStyle) {
        let s = self.style(style)
        let a = ASSScript.milliseconds(start), b = ASSScript.milliseconds(end)
        guard b > a, !text.isEmpty else { return }
        items.append(Item(start: a, end: b, style: s, text: ASSScript.escape(text)))
    }

    /// The index of `style` (resolved) in `styles`, adding it when new.
    private mutating func style(_ style: TextStyle) -> Int {
        let r = style.resolved(frameHeight: height)
        if let i = styles.firstIndex(of: r) { return i }
        styles.append(r)
        return styles.count - 1
    }

    /// The Dialogue events in script order.
    var events: [Event] {
        items.map { item in
            let style = styles[item.style]
            let prefix = style.box! ? "{\\ybord\(ASSScript.number(boxPadding(style).vertical))}" : ""
            return Event(start: item.start, end: item.end, style: "S\(item.style)", text: prefix + item.text)
        }
    }

    /// The whole script.
    var text: String {
        var lines = [
            "[Script Info]",
            "; exportctl: captions and slide text; one script pixel is one output pixel",
            "ScriptType: v4.00+",
            "PlayResX: \(width)",
            "PlayResY: \(height)",
            // Smart wrapping: lines broken at spaces to fit the margins, of near-equal length.
            "WrapStyle: 0",
            "ScaledBorderAndShadow: yes",
            "Kerning: yes",
            // The colours are sRGB; TextLayer converts them to the frame's BT.601 itself.
            "YCbCr Matrix: None",
            "",
            "[V4+ Styles]",
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        ]
        for (i, s) in styles.enumerated() { lines.append(styleLine("S\(i)", s)) }
        lines += ["", "[Events]", "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"]
        for e in events {
            lines.append("Dialogue: 0,\(ASSScript.time(e.start)),\(ASSScript.time(e.end)),\(e.style),,0,0,0,,\(e.text)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Styles

    /// A text style: outline and shadow, or with `box` the opaque box (BorderStyle 3,
    /// whose OutlineColour fills the box, Outline pads it at the sides, and
    /// BackColour is the box's shadow), which replaces the outline.
    private func styleLine(_ name: String, _ s: TextStyle) -> String {
        let box = s.box!
        let primary = ASSScript.color(s.color!)
        let outlineColour = ASSScript.color(box ? s.boxColor! : s.outlineColor!)
        let outline = box ? boxPadding(s).horizontal : s.outline!
        let m = margins(s)
        let fields: [String] = [
            name, fontName(s), ASSScript.number(s.fontSize!), primary, primary, outlineColour, ASSScript.color(s.shadowColor!),
            "0", "0", "0", "0", "100", "100", "0", "0", box ? "3" : "1", ASSScript.number(outline), ASSScript.number(s.shadow!),
            String(ASSScript.alignment(s)), String(m.left), String(m.right), String(m.vertical),
            // Encoding -1 (a libass extension): the base direction comes from the text, so
            // a Hebrew or Arabic line is laid out right to left.
            "-1",
        ]
        return "Style: " + fields.joined(separator: ",")
    }

    /// The Fontname field: the face of `fontFile`, else the family; commas end a field
    /// and a leading `@` asks for vertical text, so both are dropped.
    private func fontName(_ s: TextStyle) -> String {
        var name = s.fontFile.flatMap { fontFileNames[$0] } ?? s.font ?? TextStyle.defaultFont
        name = String(name.filter { $0 != "," && !$0.isNewline })
        while name.hasPrefix("@") { name.removeFirst() }
        return name.isEmpty ? TextStyle.defaultFont : name
    }

    /// ASS numpad alignment: 1–3 bottom, 4–6 middle, 7–9 top; left, centre, right.
    static func alignment(_ s: TextStyle) -> Int {
        let row: Int
        switch s.position! {
        case .bottom: row = 0
        case .middle: row = 3
        case .top: row = 6
        }
        switch s.align! {
        case .left: return row + 1
        case .center: return row + 2
        case .right: return row + 3
        }
    }

    /// MarginL/MarginR/MarginV in pixels: `margin` from the edges, and the sides
    /// brought in so lines wrap at `maxWidth` (at most the frame width less both margins),
    /// the text block standing at the side `align` names.
    func margins(_ s: TextStyle) -> (left: Int, right: Int, vertical: Int) {
        let m = s.margin!
        let available = Double(width) - 2 * m
        // At least one pixel wide, inside the frame, even when the margins leave no room.
        let w = max(1, min(s.maxWidth ?? available, available))
        var left: Double
        switch s.align! {
        case .left: left = m
        case .center: left = ((Double(width) - w) / 2).rounded(.down)
        case .right: left = Double(width) - m - w
        }
        left = min(max(0, left), Double(width) - w)
        let right = Double(width) - left - w
        return (Int(left.rounded()), Int(right.rounded()), Int(m.rounded()))
    }

    /// Box padding: a quarter of the font size at the sides; above and below,
    /// half the line gap and one pixel more, so the boxes of consecutive lines
    /// overlap by two pixels rather than leave a gap where a fallback font's
    /// metrics put them a fraction of a pixel apart (`TextLayer` unions
    /// touching boxes, so the overlap is not drawn twice).
    func boxPadding(_ s: TextStyle) -> (horizontal: Double, vertical: Double) {
        ((s.fontSize! / 4).rounded(), Double(max(0, lineGap)) / 2 + 1)
    }

    /// The extra pixels libass puts between lines for `style` (resolved):
    /// (lineSpacing − 1) × fontSize, as libass's line height is the font size,
    /// to the nearest pixel.
    static func lineGap(for style: TextStyle, frameHeight: Int) -> Int {
        let s = style.resolved(frameHeight: frameHeight)
        return Int(((s.lineSpacing! - 1) * s.fontSize!).rounded())
    }

    // MARK: - Words

    /// The spans of a cue with words, in milliseconds: each with the word it
    /// highlights (the latest word covering the span) or nil between words.
    static func segments(_ cue: CaptionCue, start: Int64, end: Int64) -> [(Int64, Int64, Int?)] {
        let words = cue.words.map { (min(max(milliseconds($0.start), start), end), min(max(milliseconds($0.end), start), end)) }
        var points = Set([start, end])
        for (a, b) in words { points.insert(a); points.insert(b) }
        let sorted = points.sorted()
        var out: [(Int64, Int64, Int?)] = []
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            let word = words.indices.last { words[$0].0 <= a && b <= words[$0].1 }
            if let last = out.last, last.2 == word, last.1 == a {
                out[out.count - 1].1 = b
            } else {
                out.append((a, b, word))
            }
        }
        return out
    }

    /// Where each word is in the cue's text, searching forward from the previous
    /// word: exactly, else ignoring case and the word's leading and trailing
    /// punctuation; nil for a word not found (it is not highlighted).
    static func locate(_ words: [String], in text: [Character]) -> [Range<Int>?] {
        var from = 0
        return words.map { word in
            let exact = Array(word)
            var trimmed = ArraySlice(exact)
            while let c = trimmed.first, c.isPunctuation || c.isWhitespace { trimmed = trimmed.dropFirst() }
            while let c = trimmed.last, c.isPunctuation || c.isWhitespace { trimmed = trimmed.dropLast() }
            let found = find(exact, in: text, from: from, ignoringCase: false)
                ?? (trimmed.isEmpty ? nil : find(Array(trimmed), in: text, from: from, ignoringCase: true))
            if let found { from = found.upperBound }
            return found
        }
    }

    private static func find(_ needle: [Character], in text: [Character], from: Int, ignoringCase: Bool) -> Range<Int>? {
        guard !needle.isEmpty, needle.count <= text.count - from else { return nil }
        let n = ignoringCase ? needle.map { $0.lowercased() } : needle.map { String($0) }
        for i in from...(text.count - needle.count) {
            var ok = true
            for j in 0..<needle.count {
                let c = ignoringCase ? text[i + j].lowercased() : String(text[i + j])
                if c != n[j] { ok = false; break }
            }
            if ok { return i..<(i + needle.count) }
        }
        return nil
    }

    // MARK: - Text

    /// User text as ASS event text that libass draws literally.
    ///
    /// `{` and `}` become `\{` and `\}` (libass's escapes), so no override
    /// block can open; a line break becomes `\N`; a backslash before `N`, `n`
    /// or `h` (or at the end, where an override tag may follow) gets a WORD
    /// JOINER (U+2060, invisible and zero-width) after it, so `\N`, `\n` and
    /// `\h` typed by a user stay literal. Other control characters are dropped
    /// (tabs are kept: libass draws them as spaces).
    static func escape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            switch c {
            case "{": out.append("\\"); out.append("{")
            case "}": out.append("\\"); out.append("}")
            case "\r", "\n", "\u{2028}", "\u{2029}", "\u{85}":
                if c == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
                out.append("\\"); out.append("N")
            case "\\":
                out.append(c)
                let next = i + 1 < scalars.count ? scalars[i + 1] : nil
                if next == nil || next == "N" || next == "n" || next == "h" { out.append("\u{2060}") }
            case "\t":
                out.append(c)
            default:
                if c.value < 0x20 || c.value == 0x7F { break }
                out.append(c)
            }
            i += 1
        }
        return String(out)
    }

    // MARK: - Formatting

    /// `&HAABBGGRR`: ASS's colour order, alpha inverted (00 opaque, FF invisible).
    static func color(_ c: Color) -> String {
        "&H" + hex(255 - c.alpha) + hex(c.blue) + hex(c.green) + hex(c.red)
    }

    /// `&HBBGGRR&`, as the `\1c` override tag takes it.
    static func colorBGR(_ c: Color) -> String { "&H" + hex(c.blue) + hex(c.green) + hex(c.red) + "&" }

    /// `&HAA&` (inverted alpha), as the `\1a` override tag takes it.
    static func alpha(_ c: Color) -> String { "&H" + hex(255 - c.alpha) + "&" }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }

    /// Whole milliseconds of `seconds`, rounded (as `TextLayer.prepare` rounds the frame time).
    static func milliseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return seconds > 0 ? Int64.max / 2 : 0 }
        return Int64((seconds * 1000).rounded())
    }

    /// `h:mm:ss.cc` (ASS times are centiseconds; `TextLayer` sets the exact milliseconds).
    static func time(_ ms: Int64) -> String {
        let cs = max(0, ms) / 10
        let h = cs / 360_000, m = cs / 6000 % 60, s = cs / 100 % 60, c = cs % 100
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(h):\(two(m)):\(two(s)).\(two(c))"
    }

    /// A number with at most three decimals and no trailing zeros.
    static func number(_ d: Double) -> String {
        let ms = (d * 1000).rounded()
        guard abs(ms) < 1e15 else { return "0" }
        let whole = Int64(ms) / 1000, frac = abs(Int64(ms) % 1000)
        if frac == 0 { return String(whole) }
        var f = String(frac)
        f = String(repeating: "0", count: 3 - f.count) + f
        while f.hasSuffix("0") { f.removeLast() }
        return (ms < 0 && whole == 0 ? "-" : "") + "\(whole).\(f)"
    }
}
