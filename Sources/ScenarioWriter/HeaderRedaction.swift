/// Which header values never reach a recorded file, and what stands in their place.
///
/// Recordings are meant to be committed and shared; API keys and session cookies in them would leak. The upstream
/// still receives the real values: only the file is redacted.
public enum HeaderRedaction {
    /// Request headers whose values are secrets (compared case-insensitively).
    public static let secretRequestHeaders: Set<String> = [
        "authorization", "x-api-key", "cookie", "proxy-authorization",
    ]
    /// Response headers whose values are secrets.
    public static let secretResponseHeaders: Set<String> = ["set-cookie"]
    /// What a secret is replaced with.
    public static let placeholder = "[redacted]"

    /// `value`, or the placeholder when `name` is in `secrets`; an authorization scheme (`Bearer`, `Basic`) is kept,
    /// because it says how a client authenticated without giving the credential away.
    public static func redact(name: String, value: String, secrets: Set<String> = secretRequestHeaders) -> String {
        guard secrets.contains(name.lowercased()) else { return value }
        let lowered = name.lowercased()
        if lowered == "authorization" || lowered == "proxy-authorization",
            let space = value.firstIndex(of: " "), space != value.startIndex
        {
            return String(value[..<space]) + " " + placeholder
        }
        return placeholder
    }
}
