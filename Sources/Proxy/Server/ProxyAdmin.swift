/// The proxy's view of its models for the admin endpoints (`/running`, `/unload`, `/logs`): implemented by the
/// supervisor, kept as a protocol so the HTTP layer does not depend on process management.
public protocol ProxyAdmin: Sendable {
    /// Models that are running or starting, for `GET /running`, as JSON-ready values.
    func runningModels() async -> [RunningModelSummary]
    /// Stops one model (or all when `nil`), for `/unload`.
    func unload(model: String?) async
    /// Recent log lines (proxy and upstreams), oldest first, for `GET /logs`.
    func recentLogLines() -> [String]
    /// New log lines as they come, for `GET /logs/stream`; ends when the consumer stops iterating.
    func followLogLines() -> AsyncStream<String>
}

/// One row of `GET /running`.
public struct RunningModelSummary: Sendable, Hashable {
    public var model: String
    /// `starting`, `ready`, `stopping`, …
    public var state: String
    public var inFlight: Int

    public init(model: String, state: String, inFlight: Int) {
        self.model = model
        self.state = state
        self.inFlight = inFlight
    }
}
