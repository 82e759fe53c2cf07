import Logging
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `llama-proxy` as a library call: serve a config until SIGTERM/SIGINT, reload it on SIGHUP.
public enum ProxyService {
    /// Runs the proxy until SIGTERM or SIGINT: then stops accepting, gives requests in flight `shutdownGrace`,
    /// closes every connection and stops every child process. SIGHUP reloads the config file; a config with
    /// errors is refused (logged) and the running one kept.
    ///
    /// `config` is the already-loaded config (the executable loads it first to report errors and pick the log
    /// level); `logs` is the buffer behind `/logs`, which the executable also feeds from its log handler.
    public static func run(
        options: ProxyOptions,
        config: ProxyConfig,
        logs: LogBuffer,
        logger: Logger
    ) async throws {
        let supervisor = Supervisor(config: config, logs: logs, logger: logger)
        let router = ProxyRouter(config: config, provider: supervisor, admin: SupervisorAdmin(supervisor: supervisor))
        let server = ProxyServer(router: router, host: options.host, port: options.port, logger: logger)
        let port: Int
        do {
            port = try await server.start()
        } catch {
            await supervisor.shutdown()
            throw ProxyServiceError("cannot listen on \(options.host):\(options.port): \(error)")
        }
        logger.notice(
            "llama-proxy listening on http://\(options.host):\(port) with \(config.models.count) models")

        for await signal in SignalStream.make([SIGTERM, SIGINT, SIGHUP]) {
            if signal == SIGHUP {
                await reload(options.configPath, router: router, supervisor: supervisor, logger: logger)
                continue
            }
            logger.notice("signal \(signal): stopping (grace \(options.shutdownGrace))")
            break
        }
        await server.stop(grace: options.shutdownGrace)
        await supervisor.shutdown(grace: .seconds(5))
        logs.finishSubscribers()
        logger.notice("stopped")
    }

    private static func reload(_ path: String, router: ProxyRouter, supervisor: Supervisor, logger: Logger) async {
        do {
            let (config, warnings) = try ConfigLoader.load(contentsOf: path)
            for warning in warnings { logger.warning("\(warning)") }
            router.replaceConfig(config)
            await supervisor.reload(config)
            logger.notice("config reloaded from \(path)")
        } catch {
            logger.error("config not reloaded: \(error)")
        }
    }
}

/// Why the proxy could not start, worded for the person who ran it.
public struct ProxyServiceError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
