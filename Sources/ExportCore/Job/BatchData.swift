/// The rows of `submit --data FILE`: one JSON object per line (JSON Lines), or
/// a CSV file whose header row names the placeholders.
///
/// CSV follows RFC 4180: comma-separated, fields in double quotes may hold
/// commas, newlines and `""` for a quote; LF or CRLF line ends; a UTF-8 byte
/// order mark is skipped. Every CSV cell is a string (use JSON Lines for
/// numbers, booleans or lists). Blank lines are skipped in both formats.
public enum BatchData {
    public struct Row: Sendable, Equatable {
        /// The line the row starts on (1-based), for messages.
        public var line: Int
        /// An object of placeholder name → value.
        public var data: JSONValue
    }

    public enum Format: String, Sendable { case jsonLines = "jsonl", csv }

    /// CSV for a name ending in `.csv` (any case), JSON Lines otherwise.
    public static func format(forName name: String) -> Format {
        name.lowercased().hasSuffix(".csv") ? .csv : .jsonLines
    }

    /// The rows of `bytes`; errors name `name` and the line.
    public static func rows(_ bytes: [UInt8], name: String, format: Format) throws(JobError) -> [Row] {
        var bytes = bytes
        if bytes.starts(with: [0xef, 0xbb, 0xbf]) { bytes.removeFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw JobError(file: name, message: "not valid UTF-8 text")
        }
        let rows = format == .csv ? try csvRows(text, name: name) : try jsonRows(text, name: name)
        if rows.isEmpty { throw JobError(file: name, message: format == .csv ? "no data rows after the header" : "no rows: expected one JSON object per line") }
        return rows
    }

    private static func jsonRows(_ text: String, name: String) throws(JobError) -> [Row] {
        var rows: [Row] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let v: JSONValue
            do { v = try JSONParser.parse(Array(trimmed.utf8)) } catch {
                throw JobError(file: name, line: i + 1, column: error.column, message: error.message)
            }
            guard case .object = v else {
                throw JobError(file: name, line: i + 1, column: 1, message: "expected a JSON object of placeholder values, got \(v.typeName)")
            }
            rows.append(Row(line: i + 1, data: v))
        }
        return rows
    }

    private static func csvRows(_ text: String, name: String) throws(JobError) -> [Row] {
        let records = try csvRecords(text, name: name)
        guard let header = records.first else { throw JobError(file: name, message: "empty: the first row names the placeholders") }
        var seen: Set<String> = []
        for (i, h) in header.fields.enumerated() {
            guard JobTemplate.isName(Substring(h)) else {
                throw JobError(file: name, message: "column \(i + 1) of the header is '\(h)'; a placeholder name is a letter or _ then letters, digits or _").withLine(header.line)
            }
            guard seen.insert(h).inserted else { throw JobError(file: name, message: "column '\(h)' is named twice in the header").withLine(header.line) }
        }
        var rows: [Row] = []
        for r in records.dropFirst() {
            guard r.fields.count == header.fields.count else {
                throw JobError(file: name, message: "\(r.fields.count) field\(r.fields.count == 1 ? "" : "s"), but the header has \(header.fields.count)").withLine(r.line)
            }
            rows.append(Row(line: r.line, data: .object(zip(header.fields, r.fields).map { ($0, .string($1)) })))
        }
        return rows
    }

    struct Record { var line: Int; var fields: [String] }

    /// RFC 4180 records; blank lines are skipped.
    static func csvRecords(_ text: String, name: String) throws(JobError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var line = 1, recordLine = 1
        var quoted = false, wasQuoted = false, afterQuote = false
        var it = Array(text.unicodeScalars)[...]
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty && !wasQuoted) { records.append(Record(line: recordLine, fields: fields)) }
            fields = []; field = ""; wasQuoted = false; afterQuote = false
        }
        while let c = it.popFirst() {
            if quoted {
                if c == "\"" {
                    if it.first == "\"" { it.removeFirst(); field.unicodeScalars.append("\"") } else { quoted = false; afterQuote = true }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard field.isEmpty && !afterQuote else {
                    throw JobError(file: name, message: "a quote inside an unquoted field; quote the whole field and double the quote (\"\")").withLine(line)
                }
                quoted = true; wasQuoted = true
            case ",":
                fields.append(field); field = ""; afterQuote = false
            case "\r" where it.first == "\n":
                break
            case "\n":
                endRecord(); line += 1; recordLine = line
            default:
                guard !afterQuote else { throw JobError(file: name, message: "text after a closing quote; a quoted field ends at a comma or the end of the line").withLine(line) }
                field.unicodeScalars.append(c)
            }
        }
        if quoted { throw JobError(file: name, message: "a quoted field is not closed").withLine(recordLine) }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        return records
    }
}

extension JobError {
    /// The same error, naming `line` of the file (`rows.csv:4: …`).
    func withLine(_ line: Int) -> JobError {
        var e = self
        e.file = "\(file):\(line)"
        e.line = nil
        e.column = nil
        return e
    }
}
