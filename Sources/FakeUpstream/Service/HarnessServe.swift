import Logging
import ServiceLifecycle

/// `harness serve` as a library call: load scenarios, serve them like a llama-server process, stop on a signal.
public enum HarnessServe {
    /// Runs until SIGTERM or SIGINT (a `ServiceGroup`'s graceful shutdown), then stops the server and returns.
    ///
    /// Throws `ServeError` when the scenarios cannot be loaded or the address cannot be bound.
    public static func run(_ options: ServeOptions, logger: Logger) async throws {
        let scenarios: [Scenario]
        do {
            scenarios = try ScenarioLoader.load(path: options.scenarioPath)
        } catch {
            throw ServeError("\(error)", underlying: error)
        }
        guard !scenarios.isEmpty else {
            throw ServeError("\(options.scenarioPath): no scenario files (*.yaml) found")
        }
        let responder = ScenarioResponder(scenarios: scenarios, timeScaleOverride: options.timeScale)
        let server = FakeUpstreamServer(responder: responder, host: options.host, port: options.port, logger: logger)
        let port: Int
        do {
            port = try await server.start()
        } catch {
            throw ServeError("cannot listen on \(options.host):\(options.port): \(error)", underlying: error)
        }
        let names = scenarios.map(\.name).joined(separator: ", ")
        logger.notice("listening on http://\(options.host):\(port) with scenarios: \(names)")
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: FakeUpstreamServerService(server: server, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
