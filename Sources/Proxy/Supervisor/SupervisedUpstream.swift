/// What the `Supervisor` needs from one model's upstream: start it (join a start in progress), stop it, its pid.
///
/// `UpstreamProcess` is the real one; tests of the supervisor's rules (joins, swaps, TTL, limits) use fakes, so
/// those rules are checked without processes or sockets.
public protocol SupervisedUpstream: Sendable {
    /// The model this upstream serves.
    var config: ModelConfig { get }
    /// Returns once the upstream is ready, with a run number that identifies this start in exit reports.
    func start(progress: @escaping @Sendable (String) -> Void) async throws(UpstreamStartError) -> Int
    /// Stops it (a start in progress fails); returns once it has stopped.
    func stop() async
    /// The child's process id while one runs (`nil` for external upstreams).
    var processID: Int32? { get async }
    /// Where the current run listens: `config.upstream`, unless the start moved it off a port another process held.
    var address: UpstreamURL { get async }
}

extension SupervisedUpstream {
    /// Upstreams that never move listen where their config says.
    public var address: UpstreamURL {
        get async { config.upstream }
    }
}
