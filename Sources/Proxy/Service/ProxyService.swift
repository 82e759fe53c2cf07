import Logging
import ServiceLifecycle

/// `llama-proxy` as a library call: serve a config until SIGTERM/SIGINT, reload it on SIGHUP.
public enum ProxyService {
    /// Runs the proxy until SIGTERM or SIGINT, as one `ServiceGroup`:
    /// `[SupervisorService, ProxyServerService, LogStreamService, ConfigReloadService]`. The group shuts services
    /// down in reverse order, each after the one behind it has returned, so a signal means: reloads stop,
    /// `/logs/stream` responses end at once, the server stops accepting and gives requests in flight
    /// `shutdownGrace` (each ends at its own end or at the grace, whichever is first), and then every model is
    /// stopped. SIGHUP reloads the config file; a config with errors is refused (logged) and the running one kept.
    ///
    /// `config` is the already-loaded config (the executable loads it first to report errors and pick the log
    /// level); `logs` is the buffer behind `/logs`, which the executable also feeds from its log handler.
    public static func run(
        options: ProxyOptions,
        config: ProxyConfig,
        logs: LogBuffer,
        logger: Logger
    ) async throws {
        OpenFileLimit.raiseToHardLimit(logger: logger)
        LargeAllocations.returnToSystemWhenFreed(logger: logger)
        let store = ConfigStore(config)
        let supervisor = Supervisor(store: store, logs: logs, logger: logger)
        // A stopped model's idle pooled connections go: its port may be reused by the next model.
        supervisor.onModelStopped { UpstreamPools.shared.drop(model: $0) }
        // The Prometheus registry lives here, one per running proxy: library code and tests hold no global one.
        let metrics = ProxyMetrics.prometheus()
        await supervisor.useMetrics(metrics)
        let router = ProxyRouter(
            store: store, provider: supervisor, admin: SupervisorAdmin(supervisor: supervisor), metrics: metrics)
        var serverTLS: ServerTLS? = nil
        if let certificateFile = options.tlsCertificateFile {
            do {
                serverTLS = try ServerTLS(
                    certificateFile: certificateFile, keyFile: options.tlsKeyFile ?? certificateFile)
            } catch {
                throw ProxyServiceError(error.description, underlying: error)
            }
        }
        let tls = serverTLS
        let server = ProxyServer(router: router, host: options.host, port: options.port, logger: logger, tls: tls)
        let address = "\(options.host):\(options.port)"
        let serverService = ProxyServerService(
            server: server, address: address, grace: options.shutdownGrace, logger: logger
        ) { port in
            let scheme = tls == nil ? "http" : "https"
            let models = store.current.config.models.count
            logger.notice("llama-proxy listening on \(scheme)://\(options.host):\(port) with \(models) models")
        }
        let reloader = ConfigReloadService(
            path: options.configPath, configDir: options.configDir, supervisor: supervisor, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: SupervisorService(supervisor: supervisor)),
            .init(service: serverService),
            .init(service: LogStreamService(logs: logs)),
            .init(service: reloader),
        ]
        // --watch-config: a changed file reloads through the same path as SIGHUP.
        if options.watchConfig && !options.configPath.isEmpty {
            services.append(.init(service: ConfigWatchService(path: options.configPath) { await reloader.reload() }))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        try await group.run()
        logger.notice("stopped")
    }
}
