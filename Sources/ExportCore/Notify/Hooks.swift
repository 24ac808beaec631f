/// Commands to run when a job ends, one argv per final state:
/// `{"completed": ["/usr/local/bin/publish", "--quiet"], "failed": [...], "cancelled": [...]}`.
///
/// An argv is run directly (no shell); its first element is an absolute
/// path or a name looked up in the daemon's PATH. Write `["sh", "-c", "…"]`
/// to get a shell.
public struct Hooks: Sendable, Equatable {
    public var commands: [JobState: [String]] = [:]

    public init(_ commands: [JobState: [String]] = [:]) { self.commands = commands }

    public var isEmpty: Bool { commands.isEmpty }

    public static let states: [JobState] = [.completed, .failed, .cancelled]
    static let maxArguments = 64
    static let maxArgumentBytes = 4096

    public func json() -> JSONValue {
        .object(Hooks.states.compactMap { s in commands[s].map { (s.rawValue, .array($0.map { .string($0) })) } })
    }

    /// Parses a hooks object; `field` names it in messages (`hooks`, `notifications.hooks`).
    /// A relative command with a slash (`./notify.sh`) is resolved against `baseDirectory`.
    public static func parse(_ v: JSONValue, field: String, name: String, baseDirectory: String?) throws(JobError) -> Hooks {
        guard case let .object(members) = v else {
            throw JobError(file: name, field: field, message: "expected an object like {\"completed\": [\"/path/to/command\", \"arg\"]}, got \(v.typeName)")
        }
        var hooks = Hooks()
        for (k, argvValue) in members {
            let f = field + "." + k
            guard let state = JobState(rawValue: k), states.contains(state) else {
                throw JobError(file: name, field: f, message: "unknown state; one of completed, failed, cancelled")
            }
            guard case let .array(items) = argvValue, !items.isEmpty, items.count <= maxArguments else {
                throw JobError(file: name, field: f, message: "expected an array of 1 to \(maxArguments) strings (a command and its arguments, no shell)")
            }
            var argv: [String] = []
            for (i, item) in items.enumerated() {
                guard let s = item.stringValue else { throw JobError(file: name, field: "\(f)[\(i)]", message: "expected a string, got \(item.typeName)") }
                if s.utf8.count > maxArgumentBytes { throw JobError(file: name, field: "\(f)[\(i)]", message: "longer than \(maxArgumentBytes) bytes") }
                if s.utf8.contains(0) { throw JobError(file: name, field: "\(f)[\(i)]", message: "contains a NUL byte") }
                argv.append(s)
            }
            if argv[0].isEmpty { throw JobError(file: name, field: "\(f)[0]", message: "is empty; give the command to run") }
            if argv[0].contains("/") && !argv[0].hasPrefix("/") {
                guard let base = baseDirectory else {
                    throw JobError(file: name, field: "\(f)[0]", message: "'\(argv[0])' is relative; give an absolute path or a bare name found in PATH")
                }
                argv[0] = PathRules.absolute(argv[0], base: base)
            }
            hooks.commands[state] = argv
        }
        return hooks
    }
}
