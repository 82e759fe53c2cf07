/// What a run established, reduced to what expectations look at. Built by the runner from the client's reads and
/// the fake's journal; times are real (already scaled) offsets from the client's first request.
public struct ReplayFacts: Sendable, Hashable {
    /// How the client's exchange ended.
    public var outcome: ClientOutcome
    /// Requests the client sent, retries included.
    public var attempts: Int
    /// Status of the last response head received, if any.
    public var status: Int?
    /// The longest silence the client saw (from sending a request, between reads, to the attempt's end).
    public var maxGap: Duration
    /// For each heartbeat: the silence before it, since the previous body bytes or the request.
    public var heartbeatGaps: [Duration]
    /// Heartbeats received.
    public var heartbeats: Int
    /// The last attempt's body, heartbeats removed.
    public var clientBody: [UInt8]
    /// The upstream's body for that attempt (from the journal), if the upstream saw the request.
    public var upstreamBody: [UInt8]?
    /// Whether the client's body holds an in-band `data: {"error":…}` event.
    public var inBandError: Bool
    /// How long after the client closed the upstream saw its connection end; `nil` if the client never closed or
    /// the upstream never saw it.
    public var upstreamCloseDelay: Duration?
    /// Whether the client closed the connection itself.
    public var clientClosed: Bool

    /// Facts as measured.
    public init(
        outcome: ClientOutcome, attempts: Int, status: Int?, maxGap: Duration, heartbeatGaps: [Duration],
        heartbeats: Int, clientBody: [UInt8], upstreamBody: [UInt8]?, inBandError: Bool,
        upstreamCloseDelay: Duration?, clientClosed: Bool
    ) {
        self.outcome = outcome
        self.attempts = attempts
        self.status = status
        self.maxGap = maxGap
        self.heartbeatGaps = heartbeatGaps
        self.heartbeats = heartbeats
        self.clientBody = clientBody
        self.upstreamBody = upstreamBody
        self.inBandError = inBandError
        self.upstreamCloseDelay = upstreamCloseDelay
        self.clientClosed = clientClosed
    }
}
