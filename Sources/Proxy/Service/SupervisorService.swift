import ServiceLifecycle

/// The ``Supervisor`` as a `Service`: idle until shutdown, then stops every model (`cmdStop`, or SIGTERM, then
/// SIGKILL after the stop grace) and returns once no child runs. First in the group, so shut down last: the server
/// has already given requests in flight their grace and closed their connections.
public struct SupervisorService: Service {
    let supervisor: Supervisor

    public init(supervisor: Supervisor) {
        self.supervisor = supervisor
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await supervisor.shutdown()
    }
}
