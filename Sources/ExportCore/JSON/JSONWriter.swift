import CJSONC

extension JSONValue {
    /// The value as compact JSON text on one line, printed by json-c.
    public func jsonText(pretty: Bool = false) -> String {
        let o = JSONValue.build(self)
        defer { json_object_put(o) }
        var flags = JSON_C_TO_STRING_NOSLASHESCAPE
        flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) : JSON_C_TO_STRING_PLAIN
        var len = 0
        let p = json_object_to_json_string_length(o, flags, &len)!
        return p.withMemoryRebound(to: UInt8.self, capacity: len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
        }
    }

    /// Builds a json-c object tree (caller owns the reference).
    static func build(_ v: JSONValue) -> OpaquePointer? {
        switch v {
        case .null: return nil
        case let .bool(b): return json_object_new_boolean(b ? 1 : 0)
        case let .int(i): return json_object_new_int64(i)
        case let .double(d):
            if !d.isFinite { return nil }
            // Swift prints the shortest text that reads back as the same double.
            return json_object_new_double_s(d, "\(d)")
        case let .string(s):
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { b in
                b.baseAddress.map { p in
                    p.withMemoryRebound(to: CChar.self, capacity: b.count) { json_object_new_string_len($0, Int32(b.count)) }
                } ?? json_object_new_string("")
            }
        case let .array(items):
            let a = json_object_new_array_ext(Int32(items.count))
            for item in items { json_object_array_add(a, build(item)) }
            return a
        case let .object(members):
            let o = json_object_new_object()
            for (k, val) in members { json_object_object_add(o, k, build(val)) }
            return o
        }
    }
}
