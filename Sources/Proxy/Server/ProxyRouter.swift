import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOHTTP1
import Wire

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
        if route != .health, !config.apiKeys.isEmpty, !isAuthorized(request.head.headers, keys: config.apiKeys) {
            return .respond(.error(401, "invalid or missing API key", type: "authentication_error"))
        }
        switch route {
        case .model:
            let sniffed = request.sniffed ?? RequestSniffer.sniff(
                body: request.body,
                contentType: request.head.headers.first(name: "content-type"),
                query: request.query
            )
            if sniffed.malformedJSON {
                return .respond(.error(400, "the request body is not valid JSON"))
            }
            guard let model = sniffed.model, !model.isEmpty else {
                return .respond(.error(400, "the request names no model (JSON field \"model\", form field or ?model=)"))
            }
            guard let modelConfig = config.model(named: model) else {
                return .respond(.error(404, "model '\(model)' is not configured"))
            }
            var relay = settings(for: modelConfig, requested: model, stream: sniffed.stream, uri: request.head.uri)
            relay.snapshot = snapshot
            // Loading messages are chat completion chunks: only a chat client can show them.
            relay.sendLoadingState = relay.sendLoadingState && request.path == "/v1/chat/completions"
            return .relay(relay)
        case .upstream(let model, let forwardURI):
            guard let modelConfig = config.model(named: model) else {
                return .respond(.error(404, "model '\(model)' is not configured"))
            }
            var settings = settings(for: modelConfig, requested: model, stream: false, uri: forwardURI)
            settings.sendLoadingState = false
            settings.snapshot = snapshot
            return .relay(settings)
        case .listModels:
            return .respond(.json(200, Self.modelList(config)))
        case .health:
            return .respond(.text(200, "OK"))
        case .running:
            guard let admin else { return .respond(.json(200, "{\"running\":[]}")) }
            return .respondLater {
                let rows = await admin.runningModels().map {
                    "{\"model\":\(JSONText.quote($0.model)),\"state\":\(JSONText.quote($0.state)),"
                        + "\"inFlight\":\($0.inFlight)}"
                }
                return .json(200, "{\"running\":[\(rows.joined(separator: ","))]}")
            }
        case .unload(let model):
            guard let admin else { return .respond(.text(200, "OK")) }
            return .respondLater {
                await admin.unload(model: model)
                return .text(200, "OK")
            }
        case .logs:
            let lines = admin?.recentLogLines() ?? []
            return .respond(.text(200, lines.map { $0 + "\n" }.joined()))
        case .logStream:
            guard let admin else { return .respond(.error(404, "no log source")) }
            return .followLogs(backlog: admin.recentLogLines(), live: admin.followLogLines())
        case .metrics:
            return .respond(metrics.response())
        case .notFound:
            return .respond(.error(404, "no route for \(request.head.method.rawValue) \(request.path)"))
        case .methodNotAllowed(let allowed):
            var response = SimpleResponse.error(405, "\(request.path) accepts \(allowed)")
            response.headers.append(("Allow", allowed))
            return .respond(response)
        }
    }

    /// Methods answered `501` on every path.
    static let unservedMethods: [HTTPMethod] = [.CONNECT, .TRACE]

    private func settings(for model: ModelConfig, requested: String, stream: Bool, uri: String) -> RelaySettings {
        let heartbeat = (try? SSEHeartbeat(comment: model.heartbeat.comment)) ?? .keepalive
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

    private func isAuthorized(_ headers: HTTPHeaders, keys: [String]) -> Bool {
        if let authorization = headers.first(name: "authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer", keys.contains(String(parts[1])) { return true }
        }
        if let key = headers.first(name: "x-api-key"), keys.contains(key) { return true }
        return false
    }

    /// `GET /v1/models` in llama-swap's shape: every listed model (aliases not repeated), sorted by id.
    static func modelList(_ config: ProxyConfig) -> String {
        let rows = config.sortedModelIDs.compactMap { id -> String? in
            guard let model = config.models[id], !model.unlisted else { return nil }
            var fields = [
                "\"id\":\(JSONText.quote(id))", "\"object\":\"model\"", "\"created\":0", "\"owned_by\":\"llama-proxy\"",
            ]
            if let name = model.name { fields.append("\"name\":\(JSONText.quote(name))") }
            if let description = model.description { fields.append("\"description\":\(JSONText.quote(description))") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "{\"object\":\"list\",\"data\":[\(rows.joined(separator: ","))]}"
    }
}
