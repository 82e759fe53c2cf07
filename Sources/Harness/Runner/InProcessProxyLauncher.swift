import DurationMath
import FakeUpstream
import Logging
import NIOPosix
import Proxy

/// Runs the real proxy (the `Proxy` library on real sockets) in this process, in front of the fake upstream: one
/// external model (no process to start) with the scenario's proxy settings, its health checked through the
/// supervisor as for any model, so a scripted slow load is a real slow load.
public struct InProcessProxyLauncher: ProxyLauncher {
    /// llama-swap's `healthCheckTimeout` in scenario time (scaled with the run, at least 1 s of real time), unless
    /// the scenario's `proxy.healthCheckTimeout` says otherwise.
    public var healthCheckTimeout: Duration
    public var logger: Logger

    public init(healthCheckTimeout: Duration = ProxyConfig.defaultHealthCheckTimeout, logger: Logger? = nil) {
        self.healthCheckTimeout = healthCheckTimeout
        // Critical only: scenarios provoke the proxy's errors on purpose (never-ready's "model failed to start"),
        // and its log lines on stderr would cut into the verdict lines; the verdicts say what happened.
        var quiet = Logger(label: "replay-proxy")
        quiet.logLevel = .critical
        self.logger = logger ?? quiet
    }

    public func launch(upstreamPort: Int, scenario: Scenario) async throws -> (
        port: Int, stop: @Sendable () async -> Void
    ) {
        let settings = scenario.spec?.proxy
        let scale = scenario.timeScale
        let interval = settings?.heartbeatInterval.map { $0.scaled(by: scale) }
        let heartbeat = HeartbeatSettings(
            interval: interval.flatMap { $0 > .zero ? $0 : nil },
            comment: settings?.heartbeatComment ?? HeartbeatSettings.defaultComment
        )
        // The upstream time bounds: as the spec says (0 turns one off), else the proxy's own default; scaled.
        func bound(_ given: Duration?) -> Duration? {
            (given ?? ProxyConfig.defaultUpstreamTimeout).flatMap { $0 > .zero ? $0.scaled(by: scale) : nil }
        }
        let upstream = UpstreamURL(host: "127.0.0.1", port: upstreamPort)
        let model = ModelConfig(
            id: scenario.model,
            command: nil,
            upstream: upstream,
            concurrencyLimit: 1_000,
            sendLoadingState: settings?.sendLoadingState ?? false,
            heartbeat: heartbeat,
            responseHeaderTimeout: bound(settings?.responseHeaderTimeout),
            streamIdleTimeout: bound(settings?.streamIdleTimeout)
        )
        let config = ProxyConfig(
            healthCheckTimeout: max(.seconds(1), (settings?.healthCheckTimeout ?? healthCheckTimeout).scaled(by: scale)),
            models: [scenario.model: model]
        )
        let supervisor = Supervisor(config: config, logger: logger)
        // Its own event loop, as the runner gives the fake and the client theirs: no other run's work (a
        // 10,000-token plan) can delay this proxy's heartbeat timers.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = ProxyServer(
            router: ProxyRouter(config: config, provider: supervisor, admin: SupervisorAdmin(supervisor: supervisor)),
            port: 0,
            logger: logger,
            group: group
        )
        let port: Int
        do {
            port = try await server.start()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        return (
            port,
            {
                await server.stop(grace: .zero)
                await supervisor.shutdown()
                try? await group.shutdownGracefully()
            }
        )
    }
}
