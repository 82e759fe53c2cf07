/// Why the proxy could not start, worded for the person who ran it.
public struct ProxyServiceError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
