import DurationMath

/// What the heartbeat policy did for one request, logged at debug level when the request ends (issue rule 10).
public struct HeartbeatStats: Sendable, Hashable, CustomStringConvertible {
    /// Heartbeats written, the committing one included.
    public var heartbeatsSent = 0
    /// Heartbeats that were due while the upstream was inside an event, and so not written.
    public var heartbeatsWithheld = 0
    /// Errors sent as an SSE event after `200` was committed (0 or 1).
    public var inBandErrors = 0
    /// When the upstream's response head arrived, since the request arrived; `nil` if it never did.
    public var timeToUpstreamHead: Duration?
    /// When the proxy committed `200` itself (first heartbeat or loading state); `nil` if it never had to.
    public var committedAt: Duration?

    public init() {}

    /// `heartbeats=2 withheld=1 upstreamHead=31200ms committed=15000ms`, for one log line.
    public var description: String {
        func show(_ duration: Duration?) -> String {
            guard let duration else { return "none" }
            return "\(duration.nanoseconds / 1_000_000)ms"
        }
        return "heartbeats=\(heartbeatsSent) withheld=\(heartbeatsWithheld) "
            + "upstreamHead=\(show(timeToUpstreamHead)) committed=\(show(committedAt))"
    }
}
