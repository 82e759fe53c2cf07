/// What `llama-proxy` was asked to do; the executable only parses arguments into this.
public struct ProxyOptions: Sendable, Hashable {
    public var configPath: String
    public var host: String
    public var port: Int
    /// How long in-flight requests may finish after SIGTERM before connections and children are stopped.
    public var shutdownGrace: Duration

    public init(configPath: String, host: String = "127.0.0.1", port: Int = 8080, shutdownGrace: Duration = .seconds(10)) {
        self.configPath = configPath
        self.host = host
        self.port = port
        self.shutdownGrace = shutdownGrace
    }

    /// Parses `host:port`, `:port` or `port` (host defaults to loopback); `[::1]:8080` for IPv6.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else { return nil }
        return (host, port)
    }
}
