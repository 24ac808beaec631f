/// Reads SubRip (`.srt`) and WebVTT (`.vtt`) caption files into cues.
///
/// The format is told by the content, not the name: a file whose first line
/// starts with `WEBVTT` is WebVTT, anything else is read as SubRip. Markup
/// is removed (`<i>`, `<b>`, `<v Speaker>`, `<c.class>`, inline timestamps,
/// SubRip's `{\an8}`-style overrides) and WebVTT's character references are
/// decoded, so cues hold plain text; line breaks inside a cue are kept.
/// Errors carry the 1-based line number of the problem.
public enum CaptionFile {
    public struct ParseError: Error, Sendable, Equatable {
        public var line: Int
        public var message: String
    }

    /// Parses the bytes of a caption file.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> [CaptionCue] {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{feff}") { text.removeFirst() }
        // Split on \n and strip a trailing \r: "\r\n" is one Character in Swift.
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { raw -> String in
            var s = Substring(decoding: raw, as: UTF8.self)
            if s.utf8.last == UInt8(ascii: "\r") { s = s.dropLast() }
            return String(s)
        }
        let isVTT = lines.first.map { $0 == "WEBVTT" || $0.hasPrefix("WEBVTT ") || $0.hasPrefix("WEBVTT\t") } ?? false
        return try isVTT ? parseVTT(lines) : parseSRT(lines)
    }

    // MARK: - SubRip

    private static func parseSRT(_ lines: [String]) throws(ParseError) -> [CaptionCue] {
        var cues: [CaptionCue] = []
        var i = 0
        while i < lines.count {
            if lines[i].allSatisfy(\.isWhitespace) { i += 1; continue }
            // Optional counter line, then the timing line.
            var timingLine = i
            if !lines[i].contains("-->") {
                timingLine = i + 1
                guard timingLine < lines.count, lines[timingLine].contains("-->") else {
                    throw ParseError(line: i + 1, message: "expected a cue number or a timing line like '00:00:01,000 --> 00:00:04,000', got '\(clip(lines[i]))'")
                }
            }
            let (start, end) = try timing(lines[timingLine], line: timingLine + 1)
            i = timingLine + 1
            var body: [String] = []
            while i < lines.count, !lines[i].allSatisfy(\.isWhitespace) {
                body.append(lines[i])
                i += 1
            }
            cues.append(CaptionCue(start: start, end: end, text: clean(body.joined(separator: "\n"), vtt: false)))
        }
        return cues
    }

    // MARK: - WebVTT

    private static func parseVTT(_ lines: [String]) throws(ParseError) -> [CaptionCue] {
        var cues: [CaptionCue] = []
        var i = 1
        // The header block runs to the first blank line.
        while i < lines.count, !lines[i].allSatisfy(\.isWhitespace) { i += 1 }
        while i < lines.count {
            if lines[i].allSatisfy(\.isWhitespace) { i += 1; continue }
            let first = lines[i]
            if first == "NOTE" || first.hasPrefix("NOTE ") || first.hasPrefix("NOTE\t") || first == "STYLE" || first == "REGION" {
                while i < lines.count, !lines[i].allSatisfy(\.isWhitespace) { i += 1 }
                continue
            }
            var timingLine = i
            if !first.contains("-->") {
                timingLine = i + 1  // a cue identifier
                guard timingLine < lines.count, lines[timingLine].contains("-->") else {
                    throw ParseError(line: i + 1, message: "expected a cue timing line like '00:01.000 --> 00:04.000', got '\(clip(first))'")
                }
            }
            let (start, end) = try timing(lines[timingLine], line: timingLine + 1)
            i = timingLine + 1
            var body: [String] = []
            while i < lines.count, !lines[i].allSatisfy(\.isWhitespace) {
                body.append(lines[i])
                i += 1
            }
            cues.append(CaptionCue(start: start, end: end, text: clean(body.joined(separator: "\n"), vtt: true)))
        }
        return cues
    }

    // MARK: - Pieces

    /// `START --> END [settings]`.
    private static func timing(_ text: String, line: Int) throws(ParseError) -> (Double, Double) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[1] == "-->" else {
            throw ParseError(line: line, message: "expected 'START --> END', got '\(clip(text))'")
        }
        guard let start = timestamp(parts[0]) else { throw ParseError(line: line, message: "bad start time '\(parts[0])'; write HH:MM:SS,mmm") }
        guard let end = timestamp(parts[2]) else { throw ParseError(line: line, message: "bad end time '\(parts[2])'; write HH:MM:SS,mmm") }
        return (start, end)
    }

    /// `HH:MM:SS,mmm`, `HH:MM:SS.mmm` or `MM:SS.mmm`, in seconds.
    static func timestamp(_ s: Substring) -> Double? {
        let fields = s.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3 else { return nil }
        let secondsField = fields.last!.replacingOccurrences(of: ",", with: ".")
        let whole = secondsField.split(separator: ".", omittingEmptySubsequences: false)
        guard whole.count <= 2, let secs = Int(whole[0]), secs < 60, whole[0].count == 2 else { return nil }
        var fraction = 0.0
        if whole.count == 2 {
            guard !whole[1].isEmpty, whole[1].count <= 3, whole[1].allSatisfy(\.isNumber), let f = Int(whole[1]) else { return nil }
            fraction = Double(f) / pow10(whole[1].count)
        }
        guard let minutes = Int(fields[fields.count - 2]), minutes < 60 || fields.count == 2 else { return nil }
        let hours = fields.count == 3 ? Int(fields[0]) : 0
        guard let hours, hours >= 0, minutes >= 0, secs >= 0 else { return nil }
        return Double(hours * 3600 + minutes * 60 + secs) + fraction
    }

    private static func pow10(_ n: Int) -> Double { n == 1 ? 10 : n == 2 ? 100 : 1000 }

    /// Removes markup and decodes WebVTT character references.
    static func clean(_ text: String, vtt: Bool) -> String {
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "<", let close = text[i...].firstIndex(of: ">") {
                i = text.index(after: close)
                continue
            }
            if c == "{", text[text.index(after: i)...].first == "\\", let close = text[i...].firstIndex(of: "}") {
                i = text.index(after: close)
                continue
            }
            if vtt, c == "&", let semi = text[i...].prefix(8).firstIndex(of: ";") {
                let name = text[text.index(after: i)..<semi]
                let decoded: String? = ["amp": "&", "lt": "<", "gt": ">", "nbsp": "\u{a0}", "lrm": "\u{200e}", "rlm": "\u{200f}", "quot": "\"", "apos": "'"][String(name)]
                if let decoded {
                    out += decoded
                    i = text.index(after: semi)
                    continue
                }
            }
            out.append(c)
            i = text.index(after: i)
        }
        return out.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: "\n")
            .trimmingCharacters(in: .newlines)
    }

    private static func clip(_ s: String) -> String { s.count > 60 ? String(s.prefix(57)) + "..." : s }
}

private extension StringProtocol {
    func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }

    func trimmingCharacters(in set: CharacterClass) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

private enum CharacterClass {
    case whitespaces, newlines
    func contains(_ c: Character) -> Bool {
        switch self {
        case .whitespaces: return c == " " || c == "\t"
        case .newlines: return c == "\n" || c == "\r"
        }
    }
}
