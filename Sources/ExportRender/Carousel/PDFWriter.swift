/// Writes a carousel as a PDF 1.4 document: one page per slide, at the slide's
/// size (1 pixel = 1 point), each page one JPEG picture filling it; and reads
/// back what it writes, to verify an output.
///
/// The objects are: 1 the catalog, 2 the page tree, 3 the document info
/// (`/Producer (exportctl)`), then for page i (from 0) a page (4 + 3i), its
/// content stream (5 + 3i, `q W 0 0 H 0 0 cm /Im1 Do Q`) and its picture
/// (6 + 3i, an image XObject whose stream is the JPEG file as it is:
/// `/Filter /DCTDecode`, no recompression). A classic xref table with
/// 10-digit byte offsets and a trailer with `/Size`, `/Root` and `/Info` end it.
enum PDFWriter {
    /// One page: a baseline JPEG (JFIF, 3 components) of `width`×`height` pixels.
    struct Page {
        var jpeg: [UInt8]
        var width: Int
        var height: Int

        init(jpeg: [UInt8], width: Int, height: Int) {
            self.jpeg = jpeg
            self.width = width
            self.height = height
        }
    }

    /// The bytes of a PDF with `pages`, in order.
    static func document(pages: [Page]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(pages.reduce(4096) { $0 + $1.jpeg.count + 512 })
        func put(_ s: String) { out += Array(s.utf8) }
        let count = 3 + 3 * pages.count
        var offsets = [Int](repeating: 0, count: count + 1)
        func object(_ n: Int, _ body: String) {
            offsets[n] = out.count
            put("\(n) 0 obj\n\(body)\nendobj\n")
        }
        func stream(_ n: Int, _ dict: String, _ data: [UInt8]) {
            offsets[n] = out.count
            put("\(n) 0 obj\n<< \(dict) /Length \(data.count) >>\nstream\n")
            out += data
            put("\nendstream\nendobj\n")
        }

        // A comment of bytes over 127 marks the file as binary for transfer tools.
        put("%PDF-1.4\n")
        out += [0x25, 0xE2, 0xE3, 0xCF, 0xD3, 0x0A]
        object(1, "<< /Type /Catalog /Pages 2 0 R >>")
        let kids = pages.indices.map { "\(4 + 3 * $0) 0 R" }.joined(separator: " ")
        object(2, "<< /Type /Pages /Kids [\(kids)] /Count \(pages.count) >>")
        object(3, "<< /Producer (exportctl) >>")
        for (i, page) in pages.enumerated() {
            let n = 4 + 3 * i
            object(n, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(page.width) \(page.height)] "
                + "/Resources << /XObject << /Im1 \(n + 2) 0 R >> >> /Contents \(n + 1) 0 R >>")
            stream(n + 1, "", Array("q \(page.width) 0 0 \(page.height) 0 0 cm /Im1 Do Q".utf8))
            stream(n + 2, "/Type /XObject /Subtype /Image /Width \(page.width) /Height \(page.height) "
                + "/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", page.jpeg)
        }

        let xref = out.count
        // Each entry is exactly 20 bytes: 10-digit offset, 5-digit generation, type, and " \n".
        put("xref\n0 \(count + 1)\n0000000000 65535 f \n")
        for n in 1...count { put("\(padded(offsets[n], 10)) 00000 n \n") }
        put("trailer\n<< /Size \(count + 1) /Root 1 0 R /Info 3 0 R >>\nstartxref\n\(xref)\n%%EOF\n")
        return out
    }

    /// The number of pages of a PDF this writer wrote (the page tree's `/Count`,
    /// which must match its kids), or nil when it is not one or is damaged.
    static func pageCount(of pdf: [UInt8]) -> Int? {
        guard let reader = Reader(pdf), let tree = reader.pageTree(),
              case let .int(count)? = tree["Count"], case let .array(kids)? = tree["Kids"], kids.count == count
        else { return nil }
        return count
    }

    /// Each page's MediaBox size (points) and its picture's size (pixels), read
    /// through the xref table from the trailer's `/Root`; nil when the file is not
    /// one this writer wrote, is truncated, or any object or stream is out of place.
    static func pages(of pdf: [UInt8]) -> [(width: Int, height: Int, imageWidth: Int, imageHeight: Int)]? {
        guard let reader = Reader(pdf), let tree = reader.pageTree(),
              case let .int(count)? = tree["Count"], case let .array(kids)? = tree["Kids"], kids.count == count
        else { return nil }
        var result = [(width: Int, height: Int, imageWidth: Int, imageHeight: Int)]()
        for kid in kids {
            guard case let .ref(n) = kid, let page = reader.dictionary(n), page["Type"] == .name("Page"),
                  case let .array(box)? = page["MediaBox"], box.count == 4,
                  box[0] == .int(0), box[1] == .int(0), case let .int(w) = box[2], case let .int(h) = box[3],
                  case let .dict(resources)? = page["Resources"], case let .dict(xobjects)? = resources["XObject"],
                  case let .ref(im)? = xobjects["Im1"], case let .ref(contents)? = page["Contents"],
                  reader.stream(contents) != nil,
                  let image = reader.dictionary(im), image["Subtype"] == .name("Image"), image["Filter"] == .name("DCTDecode"),
                  case let .int(iw)? = image["Width"], case let .int(ih)? = image["Height"],
                  let data = reader.stream(im), data.starts(with: [0xFF, 0xD8]), data.suffix(2).elementsEqual([0xFF, 0xD9])
            else { return nil }
            result.append((w, h, iw, ih))
        }
        return result
    }

    private static func padded(_ n: Int, _ digits: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

// MARK: - Reading

extension PDFWriter {
    /// A value of the PDF object syntax this writer uses (no strings are read, only skipped).
    fileprivate indirect enum Value: Equatable {
        case int(Int)
        case name(String)
        case ref(Int)
        case array([Value])
        case dict([String: Value])
        case other
    }

    /// Objects found through the xref table of a complete file.
    fileprivate struct Reader {
        let bytes: [UInt8]
        /// Byte offset of each object, by number (0 is the free head).
        let offsets: [Int]
        let trailer: [String: Value]

        init?(_ bytes: [UInt8]) {
            self.bytes = bytes
            // The end: "startxref\n<offset>\n%%EOF" within the last bytes.
            guard bytes.starts(with: Array("%PDF-1.".utf8)) else { return nil }
            var end = bytes.count
            while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D || bytes[end - 1] == 0x20 { end -= 1 }
            let eof = Array("%%EOF".utf8)
            guard end >= eof.count, bytes[(end - eof.count)..<end].elementsEqual(eof) else { return nil }
            let tail = max(0, end - 1024)
            guard let sx = Reader.lastIndex(of: Array("startxref".utf8), in: bytes, from: tail, to: end) else { return nil }
            var p = sx + 9
            var lexer = Lexer(bytes: bytes, position: p)
            guard case let .int(xref)? = lexer.next(), xref >= 0, xref < sx else { return nil }

            // "xref\n0 N\n" then N entries of 20 bytes.
            p = xref
            guard bytes[p...].starts(with: Array("xref".utf8)) else { return nil }
            lexer = Lexer(bytes: bytes, position: p + 4)
            guard case .int(0)? = lexer.next(), case let .int(n)? = lexer.next(), n > 0, n < 1_000_000 else { return nil }
            p = lexer.position
            while p < bytes.count, bytes[p] == 0x0A || bytes[p] == 0x0D || bytes[p] == 0x20 { p += 1 }
            guard p + 20 * n <= sx else { return nil }
            var offsets = [Int]()
            for i in 0..<n {
                let entry = bytes[(p + 20 * i)..<(p + 20 * i + 20)]
                let digits = entry.prefix(10)
                guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), entry[entry.startIndex + 10] == 0x20 else { return nil }
                let offset = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                let type = entry[entry.startIndex + 17]
                if i == 0 {
                    guard type == UInt8(ascii: "f") else { return nil }
                } else {
                    guard type == UInt8(ascii: "n"), offset < xref,
                          bytes[offset...].starts(with: Array("\(i) 0 obj".utf8)) else { return nil }
                }
                offsets.append(offset)
            }
            self.offsets = offsets
            p += 20 * n
            lexer = Lexer(bytes: bytes, position: p)
            guard case .keyword("trailer")? = lexer.token(), case let .dict(trailer)? = lexer.value(),
                  case .int(n)? = trailer["Size"] else { return nil }
            self.trailer = trailer
        }

        /// The page tree the catalog points to.
        func pageTree() -> [String: Value]? {
            guard case let .ref(root)? = trailer["Root"], let catalog = dictionary(root), catalog["Type"] == .name("Catalog"),
                  case let .ref(pages)? = catalog["Pages"], let tree = dictionary(pages), tree["Type"] == .name("Pages")
            else { return nil }
            return tree
        }

        /// The dictionary that object `n` is or starts with.
        func dictionary(_ n: Int) -> [String: Value]? {
            guard n > 0, n < offsets.count else { return nil }
            var lexer = Lexer(bytes: bytes, position: offsets[n])
            guard case .int(n)? = lexer.next(), case .int(0)? = lexer.next(), case .keyword("obj")? = lexer.token(),
                  case let .dict(d)? = lexer.value() else { return nil }
            return d
        }

        /// The data of stream object `n`, checked to be exactly `/Length` bytes followed by `endstream`.
        func stream(_ n: Int) -> ArraySlice<UInt8>? {
            guard n > 0, n < offsets.count else { return nil }
            var lexer = Lexer(bytes: bytes, position: offsets[n])
            guard case .int(n)? = lexer.next(), case .int(0)? = lexer.next(), case .keyword("obj")? = lexer.token(),
                  case let .dict(d)? = lexer.value(), case let .int(length)? = d["Length"], length >= 0,
                  case .keyword("stream")? = lexer.token() else { return nil }
            // The data starts after the end of line that follows "stream".
            var p = lexer.position
            if p < bytes.count, bytes[p] == 0x0D { p += 1 }
            guard p < bytes.count, bytes[p] == 0x0A else { return nil }
            p += 1
            guard length <= bytes.count - p else { return nil }
            let data = bytes[p..<(p + length)]
            lexer = Lexer(bytes: bytes, position: p + length)
            guard case .keyword("endstream")? = lexer.token() else { return nil }
            return data
        }

        static func lastIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int, to end: Int) -> Int? {
            var i = end - needle.count
            while i >= start {
                if bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
                i -= 1
            }
            return nil
        }
    }

    /// Tokens of PDF syntax, enough for the objects this writer writes.
    fileprivate struct Lexer {
        enum Token: Equatable {
            case int(Int)
            case name(String)
            case keyword(String)
            case open(String)  // "<<" or "["
            case close(String)  // ">>" or "]"
            case string
        }

        let bytes: [UInt8]
        var position: Int

        private static func isWhite(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0x0C || c == 0 }
        private static func isDelimiter(_ c: UInt8) -> Bool { "()<>[]{}/%".utf8.contains(c) }

        mutating func token() -> Token? {
            while position < bytes.count {
                if Lexer.isWhite(bytes[position]) { position += 1; continue }
                if bytes[position] == UInt8(ascii: "%") {
                    while position < bytes.count, bytes[position] != 0x0A, bytes[position] != 0x0D { position += 1 }
                    continue
                }
                break
            }
            guard position < bytes.count else { return nil }
            let c = bytes[position]
            func word() -> String {
                let start = position
                while position < bytes.count, !Lexer.isWhite(bytes[position]), !Lexer.isDelimiter(bytes[position]) { position += 1 }
                return String(decoding: bytes[start..<position], as: UTF8.self)
            }
            switch c {
            case UInt8(ascii: "<"), UInt8(ascii: ">"):
                guard position + 1 < bytes.count, bytes[position + 1] == c else { return nil }  // no hex strings here
                position += 2
                return c == UInt8(ascii: "<") ? .open("<<") : .close(">>")
            case UInt8(ascii: "["): position += 1; return .open("[")
            case UInt8(ascii: "]"): position += 1; return .close("]")
            case UInt8(ascii: "/"):
                position += 1
                return .name(word())
            case UInt8(ascii: "("):
                // A literal string: balanced parentheses, backslash escapes.
                var depth = 0
                while position < bytes.count {
                    let b = bytes[position]
                    position += 1
                    if b == UInt8(ascii: "\\") { position += 1 } else if b == UInt8(ascii: "(") { depth += 1 } else if b == UInt8(ascii: ")") {
                        depth -= 1
                        if depth == 0 { return .string }
                    }
                }
                return nil
            default:
                let w = word()
                if w.isEmpty { return nil }
                if let n = Int(w) { return .int(n) }
                return .keyword(w)
            }
        }

        /// The next token as a plain value (an integer or a name), for short reads.
        mutating func next() -> Value? {
            switch token() {
            case let .int(n)?: return .int(n)
            case let .name(s)?: return .name(s)
            default: return nil
            }
        }

        /// One whole value: `n 0 R` references, arrays and dictionaries included.
        mutating func value() -> Value? {
            guard let t = token() else { return nil }
            switch t {
            case let .int(n):
                // "n 0 R" is a reference; else a lone integer (look ahead, then rewind).
                let saved = position
                if case .int(0)? = token(), case .keyword("R")? = token() { return .ref(n) }
                position = saved
                return .int(n)
            case let .name(s): return .name(s)
            case .string, .keyword: return .other
            case .open("["):
                var items = [Value]()
                while true {
                    let saved = position
                    if case .close("]")? = token() { return .array(items) }
                    position = saved
                    guard let v = value() else { return nil }
                    items.append(v)
                }
            case .open:
                var d = [String: Value]()
                while true {
                    guard let key = token() else { return nil }
                    if case .close(">>") = key { return .dict(d) }
                    guard case let .name(k) = key, let v = value() else { return nil }
                    d[k] = v
                }
            case .close: return nil
            }
        }
    }
}
