import Logging

/// The proxy's whole configuration, validated: what `ConfigLoader` makes of a llama-swap-style `config.yaml`.
///
/// Every model belongs to exactly one group (models in none are in llama-swap's default group), every alias names
/// one model, and all durations are final (minimums applied). Tests and embedders may also build one directly.
public struct ProxyConfig: Sendable, Hashable {
    /// How long a starting model may take to answer its `checkEndpoint` with 200.
    public var healthCheckTimeout: Duration
    /// The level the proxy logs at unless `--log-level` says otherwise.
    public var logLevel: Logger.Level
    /// First port handed to `${PORT}`.
    public var startPort: Int
    /// Default idle time before a model is stopped; `nil` never unloads.
    public var globalTTL: Duration?
    /// Keys accepted in `Authorization: Bearer` (or `x-api-key`); empty means no key is required.
    public var apiKeys: [String]
    /// The global `sendLoadingState` (each model has its resolved copy).
    public var sendLoadingState: Bool
    /// The global heartbeat settings (each model has its resolved copy in `ModelConfig.heartbeat`).
    public var heartbeat: HeartbeatSettings
    /// The global `responseHeaderTimeout` (`nil`: off); each model has its resolved copy.
    public var responseHeaderTimeout: Duration?
    /// The global `streamIdleTimeout` (`nil`: off); each model has its resolved copy.
    public var streamIdleTimeout: Duration?
    /// Limits and timeouts for client connections (request sizes, idle / header / body timeouts).
    public var clientLimits: ClientLimits
    /// Models by id.
    public var models: [String: ModelConfig]
    /// Groups in file order, then the default group (if any model is in no group).
    public var groups: [GroupConfig]
    /// Alias → model id.
    public var aliases: [String: String]
    /// `routing:` (or top-level `groups:` / `matrix:`): the swap engine and the scheduler's priorities.
    public var routing = RoutingSettings()
    /// llama-swap's `logToStdout`: which logs reach the console (read at start).
    public var logToStdout = LogToStdout.proxy
    /// llama-swap's `captureBuffer` in MiB (`0`: no captures); `nil` keeps ours, 4 MiB (read at start).
    public var captureBufferMiB: Int? = nil
    /// llama-swap's `metricsMaxInMemory`: how many recent requests the activity list keeps; `nil` keeps ours, 500
    /// (read at start).
    public var metricsMaxInMemory: Int? = nil
    /// llama-swap's `unloadTimeout` (grace before a stopping model is killed); `nil` when not set.
    public var unloadTimeout: Duration? = nil
    /// llama-swap's `includeAliasesInList`: `GET /v1/models` lists each listed alias as a model too.
    public var includeAliasesInList = false
    /// llama-swap's `profiles`, in file order.
    public var profiles: [ProfileSettings] = []
    /// `hooks.on_startup.profile`.
    public var startupProfile: String? = nil
    /// llama-swap's `selectors`, in file order.
    public var selectors: [SelectorSettings] = []
    /// llama-swap's `peers`, in file order: routed by ``PeerRouting``.
    public var peers: [PeerSettings] = []
    /// `hooks.on_startup.preload`: model ids (aliases resolved), in file order.
    public var preload: [String] = []
    /// `upstream.ignorePaths`: regular expressions as written.
    public var upstreamIgnorePaths: [String] = []

    /// Defaults are llama-swap's. Without `groups` every model is in the default group; without `aliases` they
    /// are gathered from the models.
    public init(
        healthCheckTimeout: Duration = ProxyConfig.defaultHealthCheckTimeout,
        logLevel: Logger.Level = .info,
        startPort: Int = ProxyConfig.defaultStartPort,
        globalTTL: Duration? = nil,
        apiKeys: [String] = [],
        sendLoadingState: Bool = false,
        heartbeat: HeartbeatSettings = HeartbeatSettings(),
        responseHeaderTimeout: Duration? = ProxyConfig.defaultUpstreamTimeout,
        streamIdleTimeout: Duration? = ProxyConfig.defaultUpstreamTimeout,
        clientLimits: ClientLimits = ClientLimits(),
        models: [String: ModelConfig],
        groups: [GroupConfig]? = nil,
        aliases: [String: String]? = nil
    ) {
        self.healthCheckTimeout = healthCheckTimeout
        self.logLevel = logLevel
        self.startPort = startPort
        self.globalTTL = globalTTL
        self.apiKeys = apiKeys
        self.sendLoadingState = sendLoadingState
        self.heartbeat = heartbeat
        self.responseHeaderTimeout = responseHeaderTimeout
        self.streamIdleTimeout = streamIdleTimeout
        self.clientLimits = clientLimits
        self.models = models
        self.groups =
            groups ?? [
                GroupConfig(id: GroupConfig.defaultGroupID, members: ProxyConfig.sortedIDs(models.keys))
            ]
        self.aliases =
            aliases
            ?? Dictionary(
                models.values.flatMap { model in model.aliases.map { ($0.id, model.id) } },
                uniquingKeysWith: { first, _ in first }
            )
    }

    /// The model a request names, by id or alias.
    public func model(named requested: String) -> ModelConfig? {
        if let model = models[requested] { return model }
        return aliases[requested].flatMap { models[$0] }
    }

    /// The group a model id belongs to.
    public func group(of modelID: String) -> GroupConfig? {
        groups.first { $0.members.contains(modelID) }
    }

    /// Model ids in llama-swap's order (byte-wise), the order `${PORT}` is assigned in.
    public var sortedModelIDs: [String] { ProxyConfig.sortedIDs(models.keys) }

    static func sortedIDs(_ ids: some Sequence<String>) -> [String] {
        ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// llama-swap's default.
    public static let defaultHealthCheckTimeout: Duration = .seconds(120)
    /// llama-swap raises any smaller `healthCheckTimeout` to this.
    public static let minimumHealthCheckTimeout: Duration = .seconds(15)
    /// The default of `responseHeaderTimeout` and `streamIdleTimeout`: 30 min, longer than the longest prefill users
    /// run (an 11-minute one is among the scenarios) with margin, so only a wedged upstream meets it. Upstream pings
    /// (newer llama-server builds send `:` every second) keep the idle bound from passing on a live stream.
    public static let defaultUpstreamTimeout: Duration? = .seconds(30 * 60)
    /// llama-swap's default first `${PORT}`.
    public static let defaultStartPort = 5800
}
