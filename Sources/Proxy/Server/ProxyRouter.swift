import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOHTTP1
import Wire

extension Bool? {
    fileprivate var orFalse: Bool { self ?? false }
}

/// Decides, for each complete request, what the proxy does with it: relay it to a model's upstream (with the
/// model's heartbeat settings), or answer it itself (model list, admin endpoints, errors).
///
/// Shared by every connection; the config can be swapped at run time (SIGHUP) without touching requests in flight.
public final class ProxyRouter: Sendable {
    /// The config snapshot in force; shared with the supervisor when the proxy runs as a whole (``ProxyService``).
    public let store: ConfigStore
    let provider: any UpstreamProvider
    let admin: (any ProxyAdmin)?
    /// Where requests report at their end, and what `GET /metrics` renders.
    let metrics: ProxyMetrics
    /// Recent relayed requests, live, for `/api/activity` and `/api/captures` (``ProxyAdmin+Activity``); sized by
    /// the start config's `metricsMaxInMemory` and `captureBuffer` (a reload keeps them).
    public let activity: ActivityStore
    /// The active llama-swap profile (`profiles`), applied to requested model names first.
    public let profiles = ProfileSwitch()

    public convenience init(
        config: ProxyConfig, provider: any UpstreamProvider, admin: (any ProxyAdmin)? = nil,
        metrics: ProxyMetrics = .disabled
    ) {
        self.init(store: ConfigStore(config), provider: provider, admin: admin, metrics: metrics)
    }

    /// A router that reads `store`, the same store the ``Supervisor`` reads and a reload replaces.
    public init(
        store: ConfigStore, provider: any UpstreamProvider, admin: (any ProxyAdmin)? = nil,
        metrics: ProxyMetrics = .disabled
    ) {
        self.store = store
        self.activity = ActivityStore(settings: store.current.config)
        self.provider = provider
        self.admin = admin
        self.metrics = metrics
    }

    /// The config in force for new requests.
    public var config: ProxyConfig { store.current.config }

    /// Replaces the config for requests that arrive from now on (a router on its own; with a supervisor, reload
    /// through ``Supervisor/reload(_:)``, which swaps the snapshot both read).
    public func replaceConfig(_ config: ProxyConfig) {
        store.replace(with: config)
    }

    /// What to do with one request.
    enum Decision {
        case relay(RelaySettings)
        case respond(SimpleResponse)
        case respondLater(@Sendable () async -> SimpleResponse)
        case followLogs(backlog: [String], live: AsyncStream<String>)
    }

    func decide(_ request: ProxyRequest) -> Decision {
        decide(request, in: store.current)
    }

    /// What to do with `request` under `snapshot`: everything decided here, and the supervisor's side of a relayed
    /// request (``RelaySettings/snapshot``), comes from this one snapshot.
    func decide(_ request: ProxyRequest, in snapshot: ConfigSnapshot) -> Decision {
        let config = snapshot.config
        if Self.unservedMethods.contains(where: { $0 == request.head.method }) {
            // Not a forward proxy (CONNECT), and nothing is reflected (TRACE), on any path, upstream paths included.
            // NIO's encoder sends a CONNECT answer without a body; the connection handler closes after it.
            return .respond(.error(501, "method \(request.head.method.rawValue) is not supported by this proxy"))
        }
        let route = ProxyRoute.classify(method: request.head.method, path: request.path, query: request.query)
        if route == .preflight {
            // Before auth, as llama-swap: a browser's preflight carries no credentials.
            return .respond(
                Cors.preflight(requestedHeaders: request.head.headers.first(name: "access-control-request-headers")))
        }
        if route != .health, !route.isUI, !config.apiKeys.isEmpty,
            !APIKeyCredential.presented(in: request.head.headers).map(config.apiKeys.contains).orFalse
        {
            var response = SimpleResponse.error(401, "invalid or missing API key", type: "authentication_error")
            response.headers.append(APIKeyCredential.challenge)
            return .respond(response)
        }
        switch route {
        case .model, .modelFromQuery:
            let model: String?
            var stream = false
            if route == .modelFromQuery {
                model = RequestSniffer.parseQuery(request.query)["model"]
            } else {
                let sniffed =
                    request.sniffed
                    ?? RequestSniffer.sniff(
                        body: request.body,
                        contentType: request.head.headers.first(name: "content-type"),
                        query: request.query
                    )
                if sniffed.malformedJSON {
                    return .respond(.error(400, "the request body is not valid JSON"))
                }
                model = sniffed.model
                stream = sniffed.stream
            }
            guard let requested = model, !requested.isEmpty else {
                return .respond(.error(400, "the request names no model (JSON field \"model\", form field or ?model=)"))
            }
            guard let model = resolveRequestedName(requested, in: snapshot) else {
                return .respond(.error(404, "model '\(requested)' is disabled by the active profile"))
            }
            guard let modelConfig = config.model(named: model) else {
                let peer = PeerRouting.decide(
                    requested: model, stream: stream, request: request, uri: ProxyRoute.forwardURI(request.head.uri),
                    in: snapshot)
                return peer ?? .respond(.error(404, "model '\(model)' is not configured"))
            }
            var relay = settings(
                for: modelConfig, requested: model, stream: stream, uri: ProxyRoute.forwardURI(request.head.uri))
            relay.snapshot = snapshot
            if model != requested { relay.bodyModel = model }
            // Loading messages are chat completion chunks: only a chat client can show them.
            relay.sendLoadingState =
                relay.sendLoadingState && (request.path == "/v1/chat/completions" || request.path == "/v/chat/completions")
            return .relay(relay)
        case .upstream(var rest):
            // The active profile's longest pin at the start of the path names the model instead (llama-swap's
            // profile middleware on /upstream/); a disabled pin is a 404, as for a body's model.
            if !config.profiles.isEmpty, let profile = profiles.active(in: snapshot),
                let pin = Self.upstreamPin(rest, pins: profile.pins)
            {
                guard let target = pin.target, !target.isEmpty else {
                    return .respond(.error(404, "model '\(pin.id)' is disabled by the active profile"))
                }
                rest = target + rest.dropFirst(pin.id.count)
            }
            // A local model or alias, else a peer's model (`peer/model`, or a bare id one peer serves), as llama-swap.
            guard
                let split = UpstreamPath.split(
                    rest,
                    isModel: { config.model(named: $0) != nil || PeerRouting.resolve($0, in: config.peers) != nil })
            else {
                return .respond(.error(404, "no configured model at the start of \(request.path)"))
            }
            let query = request.query.map { "?\($0)" } ?? ""
            if split.needsTrailingSlash {
                // llama-swap's canonical form, so relative URLs in the upstream's pages resolve under it.
                let keepsMethod = request.head.method != .GET && request.head.method != .HEAD
                var response = SimpleResponse.text(keepsMethod ? 308 : 301, "")
                response.headers.append(("Location", "/upstream/\(split.model)/\(query)"))
                return .respond(response)
            }
            guard let modelConfig = config.model(named: split.model) else {
                // A peer's model: nothing to start there, so no ignorePaths check.
                let peer = PeerRouting.decide(
                    requested: split.model, stream: false, request: request, uri: split.forwardPath + query,
                    passthrough: true, in: snapshot)
                return peer ?? .respond(.error(404, "no configured model at the start of \(request.path)"))
            }
            if let refused = ignoredUpstreamPath(split.forwardPath, model: modelConfig.id, in: snapshot) {
                return .respond(refused)
            }
            var settings = settings(
                for: modelConfig, requested: split.model, stream: false, uri: split.forwardPath + query)
            settings.sendLoadingState = false
            settings.snapshot = snapshot
            settings.passthrough = true
            return .relay(settings)
        case .listModels:
            let origin = request.head.headers.first(name: "origin")
            let corsHeaders = origin.map { [("Access-Control-Allow-Origin", $0)] } ?? []
            let created = Int(Date().timeIntervalSince1970)
            let profile = profiles.active(in: snapshot)
            guard let admin else {
                var response = SimpleResponse.json(
                    200, AdminResponses.modelList(config, states: nil, created: created, activeProfile: profile))
                response.headers += corsHeaders
                return .respond(response)
            }
            return .respondLater {
                let states = Dictionary(
                    await admin.runningModels().map { ($0.model, $0.state) }, uniquingKeysWith: { first, _ in first })
                var response = SimpleResponse.json(
                    200, AdminResponses.modelList(config, states: states, created: created, activeProfile: profile))
                response.headers += corsHeaders
                return response
            }
        case .health:
            return .respond(.text(200, "OK"))
        case .version:
            return .respond(.json(200, AdminResponses.version))
        case .running:
            guard let admin else { return .respond(.json(200, "{\"running\":[]}")) }
            return .respondLater {
                .json(200, AdminResponses.running(await admin.runningModels(), config: config))
            }
        case .unload(let model):
            guard let admin else { return .respond(.text(200, "OK")) }
            return .respondLater {
                await admin.unload(model: model)
                return .text(200, "OK")
            }
        case .apiUnload(let model):
            if let model, config.model(named: model) == nil {
                return .respond(.error(404, "model '\(model)' is not configured"))
            }
            let resolved = model.flatMap { config.model(named: $0)?.id }
            let done: SimpleResponse = model == nil ? .json(200, "{\"msg\":\"ok\"}") : .text(200, "OK")
            guard let admin else { return .respond(done) }
            return .respondLater {
                await admin.unload(model: resolved)
                return done
            }
        case .logs:
            let lines = admin?.recentLogLines() ?? []
            return .respond(.text(200, lines.map { $0 + "\n" }.joined()))
        case .logStream(let source, let history):
            guard let admin else { return .respond(.error(404, "no log source")) }
            var resolved = source
            if case .model(let id) = source {
                guard let model = config.model(named: id) else {
                    return .respond(.error(400, "no log '\(id)': use proxy, upstream or a model id"))
                }
                resolved = .model(model.id)
            }
            let source = resolved
            let backlog = history ? admin.recentLogLines().filter { AdminResponses.logLine($0, belongsTo: source) } : []
            let live = admin.followLogLines()
            guard source != .all else { return .followLogs(backlog: backlog, live: live) }
            return .followLogs(
                backlog: backlog, live: Self.filter(live) { AdminResponses.logLine($0, belongsTo: source) })
        case .preflight:
            return .respond(Cors.preflight(requestedHeaders: nil))
        case .metrics:
            return .respond(metrics.response())
        case .activityAPI(let endpoint):
            return activityDecision(endpoint, in: snapshot)
        case .profiles:
            return profilesEndpoint(request, in: snapshot)
        case .ui(let page):
            return .respond(UIRoutes.response(for: page, config: config))
        case .notFound:
            return .respond(.error(404, "no route for \(request.head.method.rawValue) \(request.path)"))
        case .methodNotAllowed(let allowed):
            var response = SimpleResponse.error(405, "\(request.path) accepts \(allowed)")
            response.headers.append(("Allow", allowed))
            return .respond(response)
        }
    }

    /// The lines of `stream` that pass `include`; iterating stops (and the source stream is released) when the reader
    /// of the result stops.
    static func filter(_ stream: AsyncStream<String>, _ include: @escaping @Sendable (String) -> Bool)
        -> AsyncStream<String>
    {
        let (filtered, continuation) = AsyncStream.makeStream(of: String.self)
        let task = Task {
            for await line in stream where include(line) { continuation.yield(line) }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return filtered
    }

    /// The longest of `pins` that `rest` (the path after `/upstream/`) starts with, as a whole segment run.
    static func upstreamPin(_ rest: String, pins: [ProfileSettings.Pin]) -> ProfileSettings.Pin? {
        pins.filter { rest == $0.id || rest.hasPrefix($0.id + "/") }.max { $0.id.utf8.count < $1.id.utf8.count }
    }

    /// Methods answered `501` on every path.
    static let unservedMethods: [HTTPMethod] = [.CONNECT, .TRACE]

    private func settings(for model: ModelConfig, requested: String, stream: Bool, uri: String) -> RelaySettings {
        // The default comment's bytes are made once, not per request.
        let comment = model.heartbeat.comment
        let heartbeat =
            comment == SSEHeartbeat.defaultComment ? .keepalive : (try? SSEHeartbeat(comment: comment)) ?? .keepalive
        return RelaySettings(
            requestedModel: requested,
            stream: stream,
            heartbeatInterval: model.heartbeat.interval,
            heartbeat: heartbeat,
            responseHeaderTimeout: model.responseHeaderTimeout,
            streamIdleTimeout: model.streamIdleTimeout,
            sendLoadingState: model.sendLoadingState,
            forwardURI: uri,
            filters: model.filters
        )
    }

}
