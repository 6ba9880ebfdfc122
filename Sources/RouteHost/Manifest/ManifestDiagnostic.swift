/// One problem in routes.json, printed as compilers do:
/// `routes.json:12:9: error: unknown key 'handlr' in route (did you mean 'handler'?)`.
public struct ManifestDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    /// How to fix it, shown in parentheses after the message.
    public var fix: String?

    public init(file: String, line: Int, column: Int, message: String, fix: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.fix = fix
    }

    public var description: String {
        "\(file):\(line):\(column): error: \(message)" + (fix.map { " (\($0))" } ?? "")
    }
}

/// routes.json cannot be used: every problem found, in file order.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ManifestDiagnostic]

    public init(_ diagnostics: [ManifestDiagnostic]) {
        self.diagnostics = diagnostics.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }
    }

    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
