/// A recorder failure a user can act on.
public struct RecorderError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do about it.
    public var message: String
    /// The message.
    public var description: String { message }

    /// An error saying `message`.
    public init(message: String) {
        self.message = message
    }
}
