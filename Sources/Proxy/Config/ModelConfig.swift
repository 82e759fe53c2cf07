import LocatedYAML

/// One model of the config, fully resolved: macros expanded, `${PORT}` assigned, `cmd` split into an argv,
/// defaults and global settings applied. The supervisor and the relay read it; nothing here needs interpreting.
public struct ModelConfig: Sendable, Hashable {
    /// The id clients send as `model` (the key under `models:`).
    public var id: String
    /// The argv to start the server (no shell involved); `nil` when the model names an already-running `proxy`.
    public var command: [String]?
    /// The argv that stops the server instead of SIGTERM; may contain `${PID}`, which the supervisor replaces with
    /// the child's process id before running it.
    public var stopCommand: [String]?
    /// Where requests for this model go.
    public var upstream: UpstreamURL
    /// The port given to `${PORT}` for this model, if its `cmd` uses it.
    public var port: Int?
    /// Other names that route to this model; unique across the config.
    public var aliases: [ModelAlias]
    /// Variables added to the child's environment (`env: ["NAME=value"]`).
    public var environment: [String: String]
    /// Path polled until it answers 200 before the model is ready; `nil` (`checkEndpoint: none`) skips the check.
    public var checkEndpoint: String?
    /// Idle time after which the model is stopped; `nil` never unloads.
    public var ttl: Duration?
    /// Hidden from `GET /v1/models`, but still served.
    public var unlisted: Bool
    /// The `model` value to put in the forwarded body instead of the requested id.
    public var useModelName: String?
    /// Display name and description for `GET /v1/models`.
    public var name: String?
    /// Shown by `GET /v1/models` next to `name`.
    public var description: String?
    /// Requests served at once; more get 429.
    public var concurrencyLimit: Int
    /// Streaming chat requests to a model that is not ready get llama-swap's loading messages.
    public var sendLoadingState: Bool
    /// The model's heartbeat settings, the global ones already applied where the model sets none.
    public var heartbeat: HeartbeatSettings
    /// Longest wait from sending a request to this model's upstream until its response head; `nil` is off. The
    /// loader fills it from `timeouts.responseHeader` or the global `responseHeaderTimeout` (default 30 min).
    public var responseHeaderTimeout: Duration?
    /// Longest silence between two reads of the upstream's body once its head arrived; `nil` is off. The loader
    /// fills it from `streamIdleTimeout` / `timeouts.streamIdle` or the global value (default 30 min).
    public var streamIdleTimeout: Duration?
    /// Where the model is defined (its key), for runtime messages.
    public var location: SourceLocation?
    /// How to start this model on another port (see ``movingPort(to:)``); `nil` when its port is fixed. The loader
    /// sets it for `${PORT}` models.
    public var portTemplate: PortTemplate? = nil
    /// llama-swap's `filters` (`stripParams`, `setParams`, `setParamsByID`). Read and checked; not applied yet
    /// (the ids of `setParamsByID` are routed to this model as aliases).
    public var filters = FilterSettings()
    /// llama-swap's `metadata`, macros expanded; `GET /v1/models` shows it as `meta.llamaswap`.
    public var metadata: ConfigValue? = nil
    /// llama-swap's `capabilities`; `GET /v1/models` shows them (and `context` as `context_length`).
    public var capabilities = ModelCapabilities()
    /// llama-swap's per-model `unloadTimeout`; `nil` when not set. Not acted on yet.
    public var unloadTimeout: Duration? = nil

    /// Defaults are the loader's, so tests and embedders can build a model with only what they care about.
    public init(
        id: String,
        command: [String]?,
        stopCommand: [String]? = nil,
        upstream: UpstreamURL,
        port: Int? = nil,
        aliases: [ModelAlias] = [],
        environment: [String: String] = [:],
        checkEndpoint: String? = ModelConfig.defaultCheckEndpoint,
        ttl: Duration? = nil,
        unlisted: Bool = false,
        useModelName: String? = nil,
        name: String? = nil,
        description: String? = nil,
        concurrencyLimit: Int = ModelConfig.defaultConcurrencyLimit,
        sendLoadingState: Bool = false,
        heartbeat: HeartbeatSettings = HeartbeatSettings(),
        responseHeaderTimeout: Duration? = nil,
        streamIdleTimeout: Duration? = nil,
        location: SourceLocation? = nil
    ) {
        self.id = id
        self.command = command
        self.stopCommand = stopCommand
        self.upstream = upstream
        self.port = port
        self.aliases = aliases
        self.environment = environment
        self.checkEndpoint = checkEndpoint
        self.ttl = ttl
        self.unlisted = unlisted
        self.useModelName = useModelName
        self.name = name
        self.description = description
        self.concurrencyLimit = concurrencyLimit
        self.sendLoadingState = sendLoadingState
        self.heartbeat = heartbeat
        self.responseHeaderTimeout = responseHeaderTimeout
        self.streamIdleTimeout = streamIdleTimeout
        self.location = location
    }

    /// True when the proxy does not start this model's server: it only forwards to `upstream`.
    public var isExternal: Bool { command == nil }

    /// llama-swap's default `proxy` (with 127.0.0.1 rather than localhost, so no IPv6-first surprise).
    public static let defaultProxy = "http://127.0.0.1:${PORT}"
    /// llama-server answers 200 there once the model is loaded (503 while loading).
    public static let defaultCheckEndpoint = "/health"
    /// llama-swap's internal limit when `concurrencyLimit` is 0 or absent.
    public static let defaultConcurrencyLimit = 10
}

/// Another name for a model: `aliases: [name]` or llama-swap's `{id, name, unlisted}` form.
public struct ModelAlias: Sendable, Hashable {
    /// The name clients may send as `model`.
    public var id: String
    /// Display name for `/v1/models` when aliases are listed.
    public var name: String?
    /// Kept out of `/v1/models` even when aliases are listed.
    public var unlisted: Bool

    /// An alias; only `id` matters for routing.
    public init(id: String, name: String? = nil, unlisted: Bool = false) {
        self.id = id
        self.name = name
        self.unlisted = unlisted
    }
}
