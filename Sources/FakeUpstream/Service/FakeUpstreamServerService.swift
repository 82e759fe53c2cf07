import Logging
import ServiceLifecycle

/// A started ``FakeUpstreamServer`` as a `Service`: serves until graceful shutdown (SIGTERM/SIGINT through the
/// `ServiceGroup` that runs it) or cancellation, then stops the server.
public struct FakeUpstreamServerService: Service {
    let server: FakeUpstreamServer
    let logger: Logger

    public init(server: FakeUpstreamServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        logger.notice("stopping")
        try await server.stop()
    }
}
