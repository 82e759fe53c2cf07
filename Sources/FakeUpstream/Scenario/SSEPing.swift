/// llama-server's keep-alive for silent streams (llama.cpp #24013, b9478): a comment frame written whenever a
/// streaming response has sent nothing for `interval`.
///
/// The fake writes it only into `text/event-stream` responses (chunked or close-delimited), only after their head,
/// only between events (never between the pieces of a split event), and counts the interval again from every
/// write, its own pings included, as llama-server counts from its last send. Pings are planned like any write, so
/// the journal shows them and the plan states their exact offsets.
public struct SSEPing: Sendable, Hashable {
    /// Silence after which a ping is written. llama-server's default is 30 s (`sse_ping_interval`); #25241
    /// (2026-07) lets a request ask for another one (its WebUI asks for 1 s).
    public var interval: Duration
    /// What a ping writes: llama-server's colon-only comment frame `:\n\n` unless a scenario says otherwise.
    public var bytes: [UInt8]
    /// Honour the request body's `sse_ping_interval` (seconds; zero or less turns pings off), as llama-server
    /// since #25241. Off by default, as b9478 up to #25241.
    public var perRequest: Bool

    public init(interval: Duration, bytes: [UInt8] = SSEPing.llamaServerBytes, perRequest: Bool = false) {
        self.interval = interval
        self.bytes = bytes
        self.perRequest = perRequest
    }

    /// `:\n\n`: an empty comment line and the blank line that ends it, as llama-server writes it.
    public static let llamaServerBytes: [UInt8] = Array(":\n\n".utf8)

    /// llama-server's default interval since b9478, and after #25241 for requests that ask for none.
    public static let llamaServerDefaultInterval: Duration = .seconds(30)

    /// The most pings one response plan holds; the rest of a longer silence goes unpinged, so that a tiny interval
    /// over a huge wait cannot exhaust memory.
    public static let maxPingsPerResponse = 100_000
}
