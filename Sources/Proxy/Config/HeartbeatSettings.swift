/// When the proxy sends SSE comment heartbeats on a streaming response, and what they say.
///
/// Set globally (`heartbeatInterval`, `heartbeatComment` at the top level) and per model (same keys), the model's
/// value winning. Kept as a small value so the relay can take it per request without looking at the whole config.
public struct HeartbeatSettings: Sendable, Hashable {
    /// Silence after which a heartbeat is sent; `nil` means heartbeats are off (`heartbeatInterval: 0`).
    public var interval: Duration?
    /// The comment text: the heartbeat is `: <comment>` and a blank line. Never contains CR or LF.
    public var comment: String

    /// Defaults: off, comment `keepalive`.
    public init(
        interval: Duration? = HeartbeatSettings.defaultInterval, comment: String = HeartbeatSettings.defaultComment
    ) {
        self.interval = interval
        self.comment = comment
    }

    /// Off unless configured: the first heartbeat commits `200` early, which changes how errors reach clients,
    /// so a llama-swap config that does not ask for heartbeats keeps llama-swap's behaviour.
    public static let defaultInterval: Duration? = nil
    /// `keepalive`: not `ping`, which at least one client treats specially.
    public static let defaultComment = "keepalive"
    /// Intervals under this are accepted with a warning (they exist for fast tests).
    public static let warningThreshold: Duration = .seconds(1)

}
