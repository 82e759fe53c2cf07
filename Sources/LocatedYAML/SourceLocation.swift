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
/// When the error comes from another one (a file that cannot be read, libyaml's report), that error is kept as
/// `underlying`; equality and hashing compare only what the user reads.
public struct LocatedError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// The error this one was made from, if any.
    public var underlying: (any Error)?

    public init(_ message: String, at location: SourceLocation, underlying: (any Error)? = nil) {
        self.location = location
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(location): \(message)" }

    public static func == (lhs: LocatedError, rhs: LocatedError) -> Bool {
        lhs.location == rhs.location && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(location)
        hasher.combine(message)
    }
}
