/// What a path in a job file may look like, and how it is made absolute.
public enum PathRules {
    /// Why `path` is refused, or nil when it is acceptable.
    ///
    /// Refused: empty, NUL or newline, a leading `-` (read as an option by
    /// other tools), and URL-like `scheme:` prefixes (network inputs are off).
    public static func problem(with path: String) -> String? {
        if path.isEmpty { return "is empty; give a file path" }
        if path.utf8.count > 4095 { return "path is longer than 4095 bytes" }
        if path.utf8.contains(0) { return "path contains a NUL byte" }
        if path.utf8.contains(where: { $0 == 0x0a || $0 == 0x0d }) { return "path contains a line break" }
        if path.hasPrefix("-") { return "path '\(path)' starts with '-'; write './\(path)'" }
        if let colon = path.firstIndex(of: ":"), !path[..<colon].contains("/") {
            let scheme = path[..<colon]
            if scheme.count >= 2, scheme.first!.isLetter,
               scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }) {
                return "'\(path)' looks like a URL; only local files are accepted (write './\(path)' for a file)"
            }
        }
        return nil
    }

    /// `path` made absolute against `base` and normalised (`.`, `..`, `//`).
    public static func absolute(_ path: String, base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var parts: [Substring] = []
        for p in joined.split(separator: "/", omittingEmptySubsequences: true) {
            if p == "." { continue }
            if p == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(p)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory part of an absolute path (`/` for a file at the root).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of a path.
    public static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
