/// A recorder failure a user can act on.
public struct RecorderError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do about it.
    public var message: String
    /// The error this one was made from (a failed bind, a file system error), if any.
    public var underlying: (any Error)?
    /// The message.
    public var description: String { message }

    /// An error saying `message`, caused by `underlying`.
    public init(message: String, underlying: (any Error)? = nil) {
        self.message = message
        self.underlying = underlying
    }
}
