import Glibc

/// The folders a spool lets jobs read from and write to (`inputRoots`,
/// `outputRoots` in settings.json).
///
/// With roots set, every path of a job must lie beneath one of them, and it
/// is opened beneath it with `openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)`:
/// no `..` above the root and no symbolic link anywhere below it, so a link
/// planted or swapped in after submit fails at the open (ELOOP) instead of
/// leading elsewhere. The root's own path is the operator's and may contain
/// links. Without roots (the default) a job may name any file its submitter
/// can read, as before, and links are followed.
public struct PathRoots: Sendable, Equatable {
    /// Absolute, normalised folders inputs must be under; empty for anywhere.
    public var input: [String] = []
    /// Absolute, normalised folders outputs must be under; empty for anywhere.
    public var output: [String] = []

    public enum Use: Sendable {
        case input, output

        var setting: String { self == .input ? "inputRoots" : "outputRoots" }
    }

    public init(input: [String] = [], output: [String] = []) {
        self.input = input
        self.output = output
    }

    public func roots(for use: Use) -> [String] { use == .input ? input : output }

    /// Whether paths used as `use` are confined at all.
    public func confines(_ use: Use) -> Bool { !roots(for: use).isEmpty }

    /// The root `path` (absolute, normalised) lies beneath, or nil.
    public func root(containing path: String, for use: Use) -> String? {
        roots(for: use).first { PathRoots.isBeneath(path, $0) }
    }

    /// Whether `path` is `root` or lies below it (both absolute and normalised).
    public static func isBeneath(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    /// Why `path` is refused by the roots (lexically, no file is looked at), or nil.
    ///
    /// A root itself is refused too (found by `make fuzz`): a carousel folder
    /// named as an output root would be published over the root, and an input
    /// root is a directory, never a file to read.
    public func problem(with path: String, for use: Use) -> String? {
        if confines(use), roots(for: use).contains(path) {
            return "'\(path)' is the spool's \(use.setting) root itself; name a file or folder under it"
        }
        return outside(path, for: use).map { "'\(path)' \($0)" }
    }

    /// Why `path` is outside every root, without the path; nil when it is inside (or `use` is not confined).
    private func outside(_ path: String, for use: Use) -> String? {
        guard confines(use), root(containing: path, for: use) == nil else { return nil }
        let list = roots(for: use)
        let which = list.count == 1 ? "the spool's \(use.setting) '\(list[0])'" : "any of the spool's \(use.setting) (\(list.joined(separator: ", ")))"
        return "is not under \(which); put it there or ask the operator to add a root"
    }

    /// Opens `path` with `flags` beneath its root (`openat2` with
    /// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS); a plain `open` when `use` is not confined.
    /// - Throws: `Refusal` for a path outside every root or through a link; `SystemError` otherwise.
    public func open(_ path: String, for use: Use, flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        guard confines(use) else { return try Sys.open(path, flags, mode) }
        guard let root = root(containing: path, for: use) else {
            throw Refusal(path: path, reason: outside(path, for: use)!)
        }
        let relative = path == root ? "." : String(path.dropFirst(root == "/" ? 1 : root.utf8.count + 1))
        do {
            return try Sys.openBeneath(root, relative, flags, mode)
        } catch {
            switch error.errno {
            case ELOOP:
                throw Refusal(path: path, reason: "goes through a symbolic link below the \(use.setting) root '\(root)'; links are not followed there, name the real file")
            case EXDEV:
                throw Refusal(path: path, reason: "leaves the \(use.setting) root '\(root)'")
            default:
                if error.path == root { throw SystemError(error.call, root, errno: error.errno) }
                throw SystemError(error.call, path, errno: error.errno)
            }
        }
    }

    /// A path the roots refuse, with the message that says what to do.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var path: String
        /// Why, after the path: "is not under …", "goes through a symbolic link …".
        public var reason: String
        public var message: String { "'\(path)' \(reason)" }
        public var description: String { message }
    }

    // MARK: - passing to the render child

    /// The environment variable the daemon sets for the render child.
    public static let environmentName = "EXPORTCTL_ROOTS"

    /// `{"input":[…],"output":[…]}`.
    public var environmentValue: String {
        JSONValue.object([("input", .array(input.map { .string($0) })), ("output", .array(output.map { .string($0) }))]).jsonText()
    }

    /// The roots in `value` (an `environmentValue`); nil when it cannot be read.
    public init?(environmentValue value: String) {
        guard let v = try? JSONParser.parse(Array(value.utf8)),
              let i = PathRoots.strings(v["input"]), let o = PathRoots.strings(v["output"]) else { return nil }
        self.init(input: i, output: o)
    }

    private static func strings(_ v: JSONValue?) -> [String]? {
        guard case let .array(items)? = v else { return nil }
        let s = items.compactMap(\.stringValue)
        return s.count == items.count ? s : nil
    }

    // MARK: - settings.json

    /// `inputRoots` or `outputRoots`: an array of absolute folder paths (normalised here).
    static func parse(_ v: JSONValue, field: String, name: String) throws(JobError) -> [String] {
        guard case let .array(items) = v else {
            throw JobError(file: name, field: field, message: "expected an array of absolute folder paths, e.g. [\"/srv/media\"]")
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard let s = item.stringValue else { throw JobError(file: name, field: "\(field)[\(i)]", message: "expected a folder path string, got \(item.typeName)") }
            guard s.hasPrefix("/") else { throw JobError(file: name, field: "\(field)[\(i)]", message: "'\(s)' is not absolute; roots start with '/'") }
            if s.utf8.contains(where: { $0 == 0 || $0 == 0x0a || $0 == 0x0d }) {
                throw JobError(file: name, field: "\(field)[\(i)]", message: "contains a NUL byte or a line break")
            }
            out.append(PathRules.absolute(s, base: "/"))
        }
        return out
    }
}
