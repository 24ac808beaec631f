import CJSONC

/// A JSON syntax error with the position where json-c stopped.
public struct JSONSyntaxError: Error, Sendable, Equatable {
    public var line: Int
    public var column: Int
    public var message: String
}

/// Parses JSON text strictly with json-c's tokener.
///
/// json-c's default tokener accepts trailing commas, single quotes and
/// trailing garbage; this uses `JSON_TOKENER_STRICT`, rejects anything after
/// the value and reports line:column from `json_tokener_get_parse_end`.
public enum JSONParser {
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        if bytes.isEmpty { throw JSONSyntaxError(line: 1, column: 1, message: "empty file, expected a JSON object") }
        if bytes.count > Int(Int32.max) { throw JSONSyntaxError(line: 1, column: 1, message: "file too large") }
        if let nul = bytes.firstIndex(of: 0) {
            let (l, c) = position(bytes, nul)
            throw JSONSyntaxError(line: l, column: c, message: "NUL byte in JSON text")
        }
        // json-c 0.16 accepts 'single-quoted' strings even in strict mode.
        var inString = false, escaped = false
        for (i, b) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == 0x5c { escaped = true } else if b == 0x22 { inString = false }
            } else if b == 0x22 {
                inString = true
            } else if b == 0x27 {
                let (l, c) = position(bytes, i)
                throw JSONSyntaxError(line: l, column: c, message: "strings and keys need double quotes (found \"'\")")
            }
        }
        guard let tok = json_tokener_new_ex(64) else {
            throw JSONSyntaxError(line: 1, column: 1, message: "out of memory")
        }
        defer { json_tokener_free(tok) }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
        let obj: OpaquePointer? = bytes.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                json_tokener_parse_ex(tok, $0, Int32(buf.count))
            }
        }
        let err = json_tokener_get_error(tok)
        let end = Int(json_tokener_get_parse_end(tok))
        if err == json_tokener_continue || (obj == nil && err == json_tokener_success) {
            let (l, c) = position(bytes, bytes.count)
            throw JSONSyntaxError(line: l, column: c, message: "unexpected end of file")
        }
        if err != json_tokener_success {
            // json-c's parse end is the offset of the offending character.
            let at = max(0, min(end, bytes.count - 1))
            let (l, c) = position(bytes, at)
            throw JSONSyntaxError(line: l, column: c, message: describe(err, bytes, at))
        }
        defer { json_object_put(obj) }
        var i = end
        while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
        if i < bytes.count {
            let (l, c) = position(bytes, i)
            throw JSONSyntaxError(line: l, column: c, message: "unexpected text after the JSON value")
        }
        return convert(obj)
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Converts a json-c object tree into a JSONValue (object keys in order).
    static func convert(_ o: OpaquePointer?) -> JSONValue {
        guard let o else { return .null }
        switch json_object_get_type(o) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(o) != 0)
        case json_type_int: return .int(json_object_get_int64(o))
        case json_type_double: return .double(json_object_get_double(o))
        case json_type_string:
            let len = Int(json_object_get_string_len(o))
            let p = json_object_get_string(o)!
            return .string(p.withMemoryRebound(to: UInt8.self, capacity: len) {
                String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
            })
        case json_type_array:
            let n = json_object_array_length(o)
            var out: [JSONValue] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(convert(json_object_array_get_idx(o, i))) }
            return .array(out)
        case json_type_object:
            var out: [(String, JSONValue)] = []
            var it = json_object_iter_begin(o)
            let end = json_object_iter_end(o)
            var endIt = end
            while json_object_iter_equal(&it, &endIt) == 0 {
                let key = String(cString: json_object_iter_peek_name(&it))
                let val = json_object_iter_peek_value(&it)
                // Strict mode keeps the last of duplicate keys; so do we.
                if let dup = out.firstIndex(where: { $0.0 == key }) { out.remove(at: dup) }
                out.append((key, convert(val)))
                json_object_iter_next(&it)
            }
            return .object(out)
        default: return .null
        }
    }

    static func position(_ bytes: [UInt8], _ offset: Int) -> (Int, Int) {
        var line = 1, col = 1, i = 0
        let stop = min(offset, bytes.count)
        while i < stop {
            let b = bytes[i]
            if b == 0x0a { line += 1; col = 1 } else if b & 0xC0 != 0x80 { col += 1 }
            i += 1
        }
        return (line, col)
    }

    static func describe(_ err: json_tokener_error, _ bytes: [UInt8], _ at: Int) -> String {
        let found: String
        if at < bytes.count {
            let b = bytes[at]
            found = b >= 0x20 && b < 0x7f ? " (found '\(Character(Unicode.Scalar(b)))')" : ""
        } else { found = "" }
        switch err {
        case json_tokener_error_parse_object_key_sep: return "expected ':' after the key" + found
        case json_tokener_error_parse_object_value_sep: return "expected ',' or '}'" + found
        case json_tokener_error_parse_array: return "expected ',' or ']'" + found
        case json_tokener_error_parse_object_key_name: return "expected a key in double quotes" + found
        case json_tokener_error_parse_string: return "invalid string" + found
        case json_tokener_error_parse_number: return "invalid number" + found
        case json_tokener_error_parse_unexpected: return "unexpected character" + found
        case json_tokener_error_parse_utf8_string: return "invalid UTF-8"
        case json_tokener_error_depth: return "nested too deeply"
        default: return String(cString: json_tokener_error_desc(err)) + found
        }
    }
}
