import FakeUpstream

/// Starts the proxy under test in front of a fake upstream, for `.proxied` runs. The lead wires the real proxy
/// (the `Proxy` library on real sockets); tests use stand-ins.
public protocol ProxyLauncher: Sendable {
    /// Starts a proxy whose only model is served by the fake at `127.0.0.1:upstreamPort`, configured with
    /// `scenario.spec?.proxy` (heartbeat interval, comment, loading state), with the run's overrides already
    /// applied. Durations there are scenario time: multiply them by `scenario.timeScale`, which is the run's scale.
    /// The model id is `scenario.model`. Returns the proxy's port and how to stop it.
    func launch(upstreamPort: Int, scenario: Scenario) async throws -> (port: Int, stop: @Sendable () async -> Void)
}

/// Where the client connects.
public enum ReplayTopology: Sendable {
    /// Client → fake upstream, no proxy: the baseline, and all that runs until the proxy is wired.
    case direct
    /// Client → proxy → fake upstream.
    case proxied(any ProxyLauncher)

    /// `direct` or `proxied`, for reports.
    public var name: String {
        switch self {
        case .direct: "direct"
        case .proxied: "proxied"
        }
    }
}

/// The proxy launcher `harness replay` uses by default; `nil` until the proxy is wired in, and then replay runs
/// direct and `--compare` says it needs the proxy.
public enum ProxyLaunchers {
    /// The launcher for the real proxy, once there is one.
    public static let standard: (any ProxyLauncher)? = InProcessProxyLauncher()
}
