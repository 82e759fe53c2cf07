import ServiceLifecycle

/// The ``Supervisor`` as a `Service`: preloads `hooks.on_startup.preload` (``Supervisor/preload()``), then idle until
/// shutdown, then stops every model (`cmdStop`, or SIGTERM, then
/// SIGKILL after the stop grace) and returns once no child runs. First in the group, so shut down last: the server
/// has already given requests in flight their grace and closed their connections.
public struct SupervisorService: Service {
    let supervisor: Supervisor

    public init(supervisor: Supervisor) {
        self.supervisor = supervisor
    }

    public func run() async throws {
        // hooks.on_startup.preload, in the background: requests are served meanwhile; shutdown ends it.
        let preload = Task { await supervisor.preload() }
        defer { preload.cancel() }
        try? await gracefulShutdown()
        await supervisor.shutdown()
    }
}
