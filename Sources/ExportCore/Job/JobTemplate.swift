import Glibc

/// A job file with `{{name}}` placeholders, filled with a row of data into a job.
///
/// Placeholders are filled in the parsed JSON tree, never in the text, so a
/// value can never add a member or end a string:
/// - a string value that is exactly `"{{name}}"` becomes the data value,
///   whatever its JSON type (string, number, boolean, null, array, object);
/// - a placeholder inside a longer string (`"out/{{slug}}.mp4"`) is replaced by
///   the value's text: a string as it is, a number or boolean as written in JSON;
///   null, arrays and objects are refused there;
/// - member names are never filled (a placeholder in one is an error);
/// - filled values are not scanned again, so `{{` in data stays text.
///
/// Names are a letter or `_` then letters, digits or `_`. A `{{` … `}}` around
/// anything else is an error; a `{{` with no `}}` after it is plain text.
public struct JobTemplate: Sendable {
    /// The template as the user named it, for messages.
    public let name: String
    /// Where it was read from.
    public let path: String
    public let root: JSONValue
    /// Every placeholder name, in order of first use.
    public let placeholders: [String]

    /// Members a job naming a template may have: everything else belongs in the template.
    public static let jobFields: Set<String> = ["template", "data"]

    /// The file a template reference names: a bare name (`episode` or
    /// `episode.json`, no `/`) is looked up in `SPOOL/templates/` (with `.json`
    /// added when that file exists and the bare name does not); anything with
    /// a `/` is a path, relative to `cwd`.
    public static func locate(_ ref: String, templatesDirectory: String, cwd: String) -> String {
        if ref.contains("/") { return PathRules.absolute(ref, base: cwd) }
        let direct = templatesDirectory + "/" + ref
        if !ref.hasSuffix(".json") && !Sys.exists(direct) && Sys.exists(direct + ".json") { return direct + ".json" }
        return direct
    }

    /// Reads and parses the template `ref`; errors name it (and `referrer`'s
    /// `field` when the file cannot be found).
    public static func load(_ ref: String, templatesDirectory: String, cwd: String, referrer: String, field: String? = "template") throws(JobError) -> JobTemplate {
        guard !ref.isEmpty, !ref.utf8.contains(0), ref != ".", ref != ".." else {
            throw JobError(file: referrer, field: field, message: "expected a template name or path")
        }
        let path = locate(ref, templatesDirectory: templatesDirectory, cwd: cwd)
        let bytes: [UInt8]
        do { bytes = try Sys.readFile(path, limit: Job.maxFileBytes) } catch {
            let why: String
            switch error.errno {
            case ENOENT: why = ref.contains("/") ? "no such file '\(ref)'" : "no template '\(ref)' in \(templatesDirectory)/ (give a path with a '/' for a file elsewhere)"
            case EFBIG: why = "'\(ref)' is larger than 1 MiB"
            default: why = "cannot read '\(path)': \(error.message.lowercased())"
            }
            throw JobError(file: referrer, field: field, message: why, category: error.errno == EFBIG ? .invalid : .missingInput)
        }
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch {
            throw JobError(file: path, line: error.line, column: error.column, message: error.message)
        }
        return try JobTemplate(name: ref, path: path, root: root)
    }

    public init(name: String, path: String, root: JSONValue) throws(JobError) {
        guard case let .object(members) = root else {
            throw JobError(file: path, message: "a template is a job file: expected a JSON object, got \(root.typeName)")
        }
        for (k, _) in members where JobTemplate.jobFields.contains(k) {
            throw JobError(file: path, field: k, message: "a template cannot name another template or hold \"data\"")
        }
        self.name = name
        self.path = path
        self.root = root
        var names: [String] = []
        var seen: Set<String> = []
        try JobTemplate.collect(root, at: "", file: path) { n in if seen.insert(n).inserted { names.append(n) } }
        placeholders = names
    }

    /// The job this template makes from `data` (an object of placeholder name → value).
    /// - Parameter name: how the data's origin is named in messages (`rows.jsonl:3`, `job.json`).
    public func fill(_ data: JSONValue, name: String) throws(JobError) -> JSONValue {
        guard case let .object(pairs) = data else {
            throw JobError(file: name, field: "data", message: "expected an object of placeholder names to values, got \(data.typeName)")
        }
        var values: [String: JSONValue] = [:]
        for (k, v) in pairs { values[k] = v }
        let missing = placeholders.filter { values[$0] == nil }
        let unused = pairs.map(\.0).filter { !placeholders.contains($0) }
        var problems: [String] = []
        if !missing.isEmpty {
            problems.append("no value for " + missing.map { "{{\($0)}}" }.joined(separator: ", "))
        }
        if !unused.isEmpty {
            problems.append("unused " + unused.map { "\"\($0)\"" }.joined(separator: ", ") + " (template '\(self.name)' has no " + unused.map { "{{\($0)}}" }.joined(separator: ", ") + ")")
        }
        if !problems.isEmpty { throw JobError(file: name, field: "data", message: problems.joined(separator: "; ")) }
        return try substitute(root, values, file: name)
    }

    // MARK: - the tree

    private func substitute(_ v: JSONValue, _ values: [String: JSONValue], file: String) throws(JobError) -> JSONValue {
        switch v {
        case let .string(s):
            let parts = JobTemplate.split(s)
            if parts.count == 1, case let .placeholder(n) = parts[0] { return values[n]! }
            guard parts.contains(where: { if case .placeholder = $0 { return true } else { return false } }) else { return v }
            var text = ""
            for part in parts {
                switch part {
                case let .text(t): text += t
                case let .placeholder(n):
                    switch values[n]! {
                    case let .string(x): text += x
                    case let .bool(b): text += b ? "true" : "false"
                    case .int, .double: text += values[n]!.jsonText()
                    case let other:
                        throw JobError(file: file, field: "data.\(n)", message: "{{\(n)}} is inside a longer string in template '\(name)', so it takes a string, number or boolean, not \(other.typeName)")
                    }
                }
            }
            return .string(text)
        case let .array(items):
            var out: [JSONValue] = []
            for item in items { out.append(try substitute(item, values, file: file)) }
            return .array(out)
        case let .object(members):
            var out: [(String, JSONValue)] = []
            for (k, m) in members { out.append((k, try substitute(m, values, file: file))) }
            return .object(out)
        default:
            return v
        }
    }

    private static func collect(_ v: JSONValue, at field: String, file: String, _ found: (String) -> Void) throws(JobError) {
        switch v {
        case let .string(s):
            for part in split(s) { if case let .placeholder(n) = part { found(n) } }
            if let bad = malformed(s) {
                throw JobError(file: file, field: field.isEmpty ? nil : field, message: "'\(bad)' is not a placeholder: a name is a letter or _ then letters, digits or _, as in {{title}}")
            }
        case let .array(items):
            for (i, item) in items.enumerated() { try collect(item, at: "\(field)[\(i)]", file: file, found) }
        case let .object(members):
            for (k, m) in members {
                let path = field.isEmpty ? k : field + "." + k
                if split(k).contains(where: { if case .placeholder = $0 { return true } else { return false } }) || malformed(k) != nil {
                    throw JobError(file: file, field: path, message: "placeholders are filled only in values, never in member names")
                }
                try collect(m, at: path, file: file, found)
            }
        default:
            break
        }
    }

    enum Part: Equatable {
        case text(String)
        case placeholder(String)
    }

    /// Splits a string into text and well-formed placeholders.
    static func split(_ s: String) -> [Part] {
        guard s.contains("{{") else { return [.text(s)] }
        var parts: [Part] = []
        var text = ""
        var rest = Substring(s)
        while let open = rest.firstRange(of: "{{") {
            text += rest[..<open.lowerBound]
            let after = rest[open.upperBound...]
            if let close = after.firstRange(of: "}}"), isName(after[..<close.lowerBound]) {
                if !text.isEmpty { parts.append(.text(text)); text = "" }
                parts.append(.placeholder(String(after[..<close.lowerBound])))
                rest = after[close.upperBound...]
            } else {
                text += "{{"
                rest = after
            }
        }
        text += rest
        if !text.isEmpty || parts.isEmpty { parts.append(.text(text)) }
        return parts
    }

    /// The first `{{…}}` in `s` whose inside is not a name, if any.
    static func malformed(_ s: String) -> String? {
        var rest = Substring(s)
        while let open = rest.firstRange(of: "{{") {
            let after = rest[open.upperBound...]
            guard let close = after.firstRange(of: "}}") else { return nil }
            let inner = after[..<close.lowerBound]
            if !isName(inner) && !inner.contains("{{") { return "{{" + inner + "}}" }
            rest = isName(inner) ? after[close.upperBound...] : after
        }
        return nil
    }

    static func isName(_ s: Substring) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}
