/// Why a job file was refused, in words that say what to fix.
///
/// Printed as `FILE:LINE:COL: message` for syntax errors and
/// `FILE: "field": message` for bad values, like a compiler.
public struct JobError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Category: Sendable, Equatable {
        /// The file is not a valid job (exit 65, EX_DATAERR).
        case invalid
        /// An input it names does not exist or cannot be read (exit 66, EX_NOINPUT).
        case missingInput
        /// The kind is reserved for a later version (exit 65).
        case unsupported
    }

    public var file: String
    public var field: String?
    public var line: Int?
    public var column: Int?
    public var message: String
    public var category: Category

    public init(file: String, field: String? = nil, line: Int? = nil, column: Int? = nil, message: String, category: Category = .invalid) {
        self.file = file
        self.field = field
        self.line = line
        self.column = column
        self.message = message
        self.category = category
    }

    public var description: String {
        if let line, let column { return "\(file):\(line):\(column): \(message)" }
        if let field { return "\(file): \"\(field)\": \(message)" }
        return "\(file): \(message)"
    }
}
