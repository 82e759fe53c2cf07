/// Why the proxy could not start, worded for the person who ran it.
public struct ProxyServiceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The error this one was made from (such as the failed bind), if any.
    public var underlying: (any Error)?

    public init(_ description: String, underlying: (any Error)? = nil) {
        self.description = description
        self.underlying = underlying
    }
}
