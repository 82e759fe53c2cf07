/// One model that is not stopped, as `GET /running` shows it.
public struct RunningModelInfo: Sendable, Hashable {
    /// The config's model id.
    public var id: String
    /// Starting, ready or stopping.
    public var phase: SwapPlanner.Phase
    /// The server's process id; `nil` for an external upstream.
    public var pid: Int32?
    /// Requests being served or waiting for this model.
    public var inFlight: Int
    /// Where its requests go.
    public var upstream: UpstreamURL
    /// Idle time after which it is unloaded, if any.
    public var ttl: Duration?

    /// A row of `GET /running`.
    public init(
        id: String, phase: SwapPlanner.Phase, pid: Int32?, inFlight: Int, upstream: UpstreamURL, ttl: Duration?
    ) {
        self.id = id
        self.phase = phase
        self.pid = pid
        self.inFlight = inFlight
        self.upstream = upstream
        self.ttl = ttl
    }

    /// llama-swap's word for the phase (`starting`, `ready`, `stopping`).
    public var stateName: String {
        switch phase {
        case .starting: "starting"
        case .ready: "ready"
        case .stopping: "stopping"
        }
    }
}
