import Foundation
import NIOHTTP1
import Wire

/// One peer model a request names: the peer, and the peer's own id for the model.
struct PeerRoute: Sendable, Hashable {
    var peer: PeerSettings
    /// The id the peer serves the model under (what the forwarded body's `model` says).
    var model: String

    /// `peer/model`, the name that always reaches it.
    var qualifiedName: String { "\(peer.id)/\(model)" }
}

/// Where a peer request goes and what it carries, once routed; the relay's lease for it needs no supervisor.
struct PeerTarget: Sendable, Hashable {
    /// The peer's base URL, with its `timeouts.connect`, `timeouts.tlsHandshake` and `timeouts.keepalive`.
    var upstream: UpstreamURL
    /// The peer's own id for the model.
    var model: String
    /// `peer/model`: the lease's model id (logs).
    var qualifiedName: String
    /// `apiKey`: replaces the client's `Authorization` and `x-api-key` on the forwarded request.
    var apiKey: String?

    /// The forwarded request's credentials: with an `apiKey`, `Authorization: Bearer <key>` and `x-api-key: <key>`
    /// replace what the client sent (as llama-swap does); without one the client's headers go on unchanged.
    func injectCredentials(into headers: inout HTTPHeaders) {
        guard let apiKey else { return }
        headers.replaceOrAdd(name: "Authorization", value: "Bearer \(apiKey)")
        headers.replaceOrAdd(name: "x-api-key", value: apiKey)
    }
}

/// `peers`: requests for models another llama-swap (or an OpenAI-compatible API) serves, relayed to it through the
/// same ``RequestRelay`` as local models, so heartbeats, in-band errors and the time bounds apply unchanged.
///
/// Names follow llama-swap: a local model id or alias always wins (the router asks the models first); then an exact
/// `peer/model`; then a bare model id that exactly one peer serves (and that is no peer's `peer/model`). The
/// forwarded body names the model by the peer's own id, and a peer's `filters` (`stripParams`, `setParams`) apply.
enum PeerRouting {
    /// The peer model `requested` names, if any (local models are resolved before this).
    static func resolve(_ requested: String, in peers: [PeerSettings]) -> PeerRoute? {
        var qualified: PeerRoute?
        var bare: [PeerRoute] = []
        for peer in peers {
            for model in peer.models {
                if "\(peer.id)/\(model)" == requested { qualified = PeerRoute(peer: peer, model: model) }
                if model == requested { bare.append(PeerRoute(peer: peer, model: model)) }
            }
        }
        if let qualified { return qualified }
        return bare.count == 1 ? bare[0] : nil
    }

    /// The router's decision for a request naming `requested`, or `nil` when no peer serves that name. A `GET` names
    /// its model in the query (`/props?model=peer/m`): there the `model` parameter is rewritten to the peer's id, as
    /// llama-swap does; bodies are rewritten by the relay (``PeerLeaseRequester``).
    /// `uri` is what the peer gets (path and query), with a `GET`'s `model` parameter rewritten unless
    /// `passthrough` (`/upstream/<peer model>/…`, where nothing of the request is changed).
    static func decide(
        requested: String, stream: Bool, request: ProxyRequest, uri: String, passthrough: Bool = false,
        in snapshot: ConfigSnapshot
    ) -> ProxyRouter.Decision? {
        let config = snapshot.config
        guard let route = resolve(requested, in: config.peers) else { return nil }
        guard let upstream = route.peer.upstream else {
            return .respond(
                .error(
                    502,
                    "peer '\(route.peer.id)' is reached through \(route.peer.proxy), "
                        + "which this proxy does not support"))
        }
        var uri = uri
        if !passthrough, request.head.method == .GET, route.model != requested, let query = request.query {
            uri = ProxyRoute.forwardURI(request.path) + "?" + replacingModel(in: query, with: route.model)
        }
        var settings = settings(
            for: route, upstream: upstream, requested: requested, stream: stream, uri: uri, config: config)
        settings.passthrough = passthrough
        return .relay(settings)
    }

    /// `query` with the value of each `model` parameter replaced by `model` (percent-encoded); the other parameters
    /// as they were sent.
    static func replacingModel(in query: String, with model: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+/?#")
        let encoded = model.addingPercentEncoding(withAllowedCharacters: allowed) ?? model
        return query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let decoded = String(name).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            return decoded == "model" ? "\(name)=\(encoded)" : String(pair)
        }.joined(separator: "&")
    }

    /// The relay's settings for a peer request: the global heartbeat, the peer's bounds and filters, no loading state
    /// (nothing loads here).
    static func settings(
        for route: PeerRoute, upstream: UpstreamURL, requested: String, stream: Bool, uri: String, config: ProxyConfig
    ) -> RelaySettings {
        var target = upstream
        target.connection = UpstreamConnectionOptions(
            connectTimeout: route.peer.connectTimeout, tlsHandshakeTimeout: route.peer.tlsHandshakeTimeout,
            keepAlive: route.peer.keepAlive)
        target.connection.idleConnTimeout = route.peer.idleConnTimeout
        var settings = RelaySettings(
            requestedModel: requested,
            stream: stream,
            heartbeatInterval: config.heartbeat.interval,
            heartbeat: (try? SSEHeartbeat(comment: config.heartbeat.comment)) ?? .keepalive,
            responseHeaderTimeout: route.peer.responseHeaderTimeout,
            streamIdleTimeout: route.peer.streamIdleTimeout,
            sendLoadingState: false,
            forwardURI: uri,
            filters: route.peer.filters
        )
        settings.peer = PeerTarget(
            upstream: target, model: route.model, qualifiedName: route.qualifiedName, apiKey: route.peer.apiKey)
        return settings
    }

    /// `GET /v1/models` rows for peer models, as llama-swap lists them: id `peer/model`, name `peer: model`,
    /// `meta.llamaswap` `{"type":"peer","peerID":…}`; `status` (when the list has one) is that of a model not loaded
    /// here. Tailcat peers' models are left out (they cannot be reached).
    static func modelListRows(_ config: ProxyConfig, withStatus: Bool, created: Int) -> [(id: String, json: String)] {
        var rows: [(id: String, json: String)] = []
        for peer in config.peers where peer.upstream != nil {
            for model in peer.models {
                let id = "\(peer.id)/\(model)"
                var fields = [
                    "\"id\":\(JSONText.quote(id))", "\"object\":\"model\"", "\"created\":\(created)",
                    "\"owned_by\":\"llama-swap\"", "\"name\":\(JSONText.quote("\(peer.id): \(model)"))",
                    "\"meta\":{\"llamaswap\":{\"type\":\"peer\",\"peerID\":\(JSONText.quote(peer.id))}}",
                ]
                if withStatus { fields.append("\"status\":{\"value\":\"unloaded\"}") }
                rows.append((id, "{" + fields.joined(separator: ",") + "}"))
            }
        }
        return rows
    }
}

/// The lease for a peer request: answered at once, on the relay's loop; nothing to start, swap or release.
struct PeerLeaseRequester: LeaseRequester {
    let target: PeerTarget

    func requestLease(
        model: String,
        progress: @escaping (LoadingProgress) -> Void,
        completion: @escaping (Result<UpstreamLease, UpstreamAcquireError>) -> Void
    ) -> () -> Void {
        completion(
            .success(
                UpstreamLease(
                    modelID: target.qualifiedName, upstream: target.upstream,
                    forwardedModelName: model == target.model ? nil : target.model, onRelease: {})))
        return {}
    }
}
