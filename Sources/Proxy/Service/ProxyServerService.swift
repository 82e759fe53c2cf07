import Logging
import ServiceLifecycle

/// ``ProxyServer`` as a `Service`: binds when the group starts; on graceful shutdown stops accepting, gives requests
/// in flight `grace`, then closes every connection. Cancelled instead (another service failed), it closes at once.
public struct ProxyServerService: Service {
    let server: ProxyServer
    /// How the address is named in messages (`127.0.0.1:8080`).
    let address: String
    let grace: Duration
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    /// - Parameter onListening: called with the bound port once the server accepts connections.
    public init(
        server: ProxyServer, address: String, grace: Duration, logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.server = server
        self.address = address
        self.grace = grace
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let port: Int
        do {
            port = try await server.start()
        } catch {
            throw ProxyServiceError(ListenFailure.message(address: address, error: error), underlying: error)
        }
        onListening(port)
        do {
            try await gracefulShutdown()
        } catch {
            await server.stop(grace: .zero)
            return
        }
        logger.notice("stopping: requests in flight get up to \(grace)", metadata: ["inFlight": "\(server.requestsInFlight)"])
        await server.stop(grace: grace)
    }
}
