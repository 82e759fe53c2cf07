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
    /// Heartbeat lines inside events of the client's body that the upstream did not write there itself
    /// (`HeartbeatPlacement`).
    public var heartbeatsInsideEvents: Int
    /// Requests with the client's method and path that the upstream received.
    public var upstreamRequests: Int
    /// How many of those arrived before the upstream's `/health` first answered 200.
    public var upstreamRequestsBeforeHealthy: Int
    /// The gate a response of the upstream was left waiting at because nobody opened it, if any.
    public var blockedGate: String?
    /// The run's bound (real time): a client still waiting then is stopped, and the proxy failed to end it.
    public var bound: Duration?

    /// Facts as measured.
    public init(
        outcome: ClientOutcome, attempts: Int, status: Int?, maxGap: Duration, heartbeatGaps: [Duration],
        heartbeats: Int, clientBody: [UInt8], upstreamBody: [UInt8]?, inBandError: Bool,
        upstreamCloseDelay: Duration?, clientClosed: Bool, heartbeatsInsideEvents: Int = 0,
        upstreamRequests: Int = 0, upstreamRequestsBeforeHealthy: Int = 0, blockedGate: String? = nil,
        bound: Duration? = nil
    ) {
        self.heartbeatsInsideEvents = heartbeatsInsideEvents
        self.upstreamRequests = upstreamRequests
        self.upstreamRequestsBeforeHealthy = upstreamRequestsBeforeHealthy
        self.blockedGate = blockedGate
        self.bound = bound
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
