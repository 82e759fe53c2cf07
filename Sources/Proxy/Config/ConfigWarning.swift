import LocatedYAML

/// Something in the config that loads but is ignored or suspicious: an unknown key, a llama-swap feature this proxy
/// does not have, a value raised to a minimum.
///
/// Warnings never stop the proxy (a llama-swap config must load), but each names its `file:line:column` so the user
/// can find what is being ignored.
public struct ConfigWarning: Sendable, Hashable, CustomStringConvertible {
    /// What is ignored or changed, and why.
    public var message: String
    /// Where it is written.
    public var location: SourceLocation
    /// Dotted path of the key concerned (`models.llama.filters`), for tables such as docs/config-compat.md.
    public var keyPath: String

    /// A warning about the key at `keyPath`, written at `location`.
    public init(_ message: String, at location: SourceLocation, keyPath: String) {
        self.message = message
        self.location = location
        self.keyPath = keyPath
    }

    /// `file:line:column: warning: message`, the form compilers use, so editors can jump to it.
    public var description: String { "\(location): warning: \(message)" }
}
