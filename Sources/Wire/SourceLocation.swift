/// A place in a text file, so that every config or scenario error can say `file:line:column`.
///
/// Lines and columns count from 1, as editors and compilers show them.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// An error in a user's file: where it is and what was expected there.
///
/// Its `description` is the whole message a user reads (`file:line:column: message`), so callers print it as is.
public struct LocatedError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ message: String, at location: SourceLocation) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}
