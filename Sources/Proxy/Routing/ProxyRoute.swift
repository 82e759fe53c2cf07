import NIOHTTP1

/// What a request is, by method, path and query alone: the first decision of routing, kept pure so it is testable
/// as a table (`EndpointRouteTests`). Whatever needs the config (does this model exist, where does a model id end in
/// `/upstream/org/model/path`) is the router's.
///
/// Adding an endpoint: one `case` here, one entry in ``exactRoutes`` (or a prefix branch in ``classify``), one
/// branch in `ProxyRouter.decide`.
enum ProxyRoute: Equatable {
    /// An inference endpoint; the model comes from the body (JSON, multipart or url-encoded form) or `?model=`.
    case model
    /// A `GET` served by a model's upstream, the model named by `?model=` (`/v1/audio/voices`, `/props`, …).
    case modelFromQuery
    /// `/upstream/{model}/{rest}`: raw passthrough to that model's upstream. `path` is everything after
    /// `/upstream/` (the model id may itself contain `/`, so the router splits it against the config).
    case upstream(path: String)
    case listModels
    case running
    /// llama-swap's older `GET /unload` (all models, or `?model=`).
    case unload(model: String?)
    /// `POST /api/models/unload` (all) and `POST /api/models/unload/{id}` (one; the id may contain `/`).
    case apiUnload(model: String?)
    /// `/health`, and `/wol-health` (llama-swap's, for wol-proxy's checks): `200 OK`, no key needed.
    case health
    /// `GET /api/version`: `{"version","commit","build_date"}` as llama-swap's.
    case version
    case logs
    /// `/logs/stream[/{proxy|upstream|model id}]`; `history` is false with `?no-history`.
    case logStream(LogStreamSource, history: Bool)
    /// `GET /metrics`: Prometheus text format.
    case metrics
    /// `/api/activity…`, `/api/captures/…`, `POST /api/models/load/{id}` (``ActivityEndpoint``).
    case activityAPI(ActivityEndpoint)
    /// `GET /api/profiles`, `PUT /api/profiles/active` (``ProxyRouter/profilesEndpoint(_:in:)``).
    case profiles
    /// The web UI's pages and assets under `/ui`, and `/` redirected there (``UIRoutes``); served without a key.
    case ui(UIRoutes.Request)
    /// `OPTIONS` on any path: llama-swap answers every preflight itself, before auth.
    case preflight
    case notFound
    case methodNotAllowed(allowed: String)

    /// Which lines `/logs/stream` follows.
    enum LogStreamSource: Equatable {
        /// Proxy and upstream lines together (`/logs/stream`).
        case all
        /// The proxy's own lines (`/logs/stream/proxy`).
        case proxy
        /// Every upstream's lines (`/logs/stream/upstream`).
        case upstream
        /// One model's lines (`/logs/stream/{id}`); the router checks the id.
        case model(String)
    }

    /// Inference paths llama-swap routes by model (exact), and prefixes (`/v1/audio/…`).
    static let modelPaths: Set<String> = [
        "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages", "/v1/messages/count_tokens",
        "/v1/responses", "/v1/rerank", "/v1/reranking", "/rerank", "/reranking", "/completion", "/completions",
        "/infill", "/embedding", "/embeddings", "/v1/images/generations", "/v1/images/edits",
        "/sdapi/v1/txt2img", "/sdapi/v1/img2img",
        // audio.cpp's task API, forwarded without `/audioapi` (``forwardURI(_:)``).
        "/audioapi/v1/tasks/run",
        // llama-swap's versionless routes (its issue #728), forwarded without the `/v` (``forwardURI(_:)``).
        "/v/chat/completions", "/v/responses", "/v/completions", "/v/messages", "/v/messages/count_tokens",
        "/v/embeddings", "/v/rerank", "/v/reranking",
    ]
    static let modelPathPrefixes = ["/v1/audio/"]
    /// `GET` paths llama-swap sends to the model named by `?model=` (`proxyGETModelHandler`), plus `/props`.
    static let queryModelPaths: Set<String> = ["/v1/audio/voices", "/props", "/sdapi/v1/loras"]

    /// Fixed paths answered by the proxy: the methods each accepts and its route.
    static let exactRoutes: [String: (methods: [HTTPMethod], route: ProxyRoute)] = [
        "/v1/models": ([.GET], .listModels),
        "/models": ([.GET], .listModels),
        "/running": ([.GET], .running),
        "/logs": ([.GET], .logs),
        "/api/models/unload": ([.POST], .apiUnload(model: nil)),
        "/metrics": ([.GET], .metrics),
        "/api/profiles": ([.GET], .profiles),
        "/api/profiles/active": ([.PUT], .profiles),
        "/api/version": ([.GET], .version),
    ]

    /// The URI a model route's request is forwarded with (`uri` as received, query included): llama-swap strips the
    /// `/v` of its versionless routes (`/v/chat/completions` reaches the upstream as `/chat/completions`) and the
    /// `/audioapi` of audio.cpp's task API (`/v1/tasks/run`); every other path goes on as sent.
    static func forwardURI(_ uri: String) -> String {
        if uri.hasPrefix("/v/") { return String(uri.dropFirst(2)) }
        if uri.hasPrefix("/audioapi/") { return String(uri.dropFirst(9)) }
        return uri
    }

    static func classify(method: HTTPMethod, path: String, query: String?) -> ProxyRoute {
        if method == .OPTIONS { return .preflight }
        if path == "/health" || path == "/wol-health" { return .health }
        if let ui = UIRoutes.classify(method: method, path: path) { return ui }
        if queryModelPaths.contains(path), method == .GET { return .modelFromQuery }
        if modelPaths.contains(path) || modelPathPrefixes.contains(where: path.hasPrefix) {
            return method == .POST ? .model : .methodNotAllowed(allowed: "POST")
        }
        if path == "/props" { return .methodNotAllowed(allowed: "GET") }
        if let rest = suffix(of: path, after: "/upstream/") {
            return rest.isEmpty ? .notFound : .upstream(path: rest)
        }
        if let endpoint = ActivityEndpoint.classify(method: method, path: path, query: query) { return .activityAPI(endpoint) }
        if let entry = exactRoutes[path] {
            return entry.methods.contains(method)
                ? entry.route : .methodNotAllowed(allowed: entry.methods.map(\.rawValue).joined(separator: ", "))
        }
        if let id = suffix(of: path, after: "/api/models/unload/") {
            guard method == .POST else { return .methodNotAllowed(allowed: "POST") }
            return .apiUnload(model: id.isEmpty ? nil : id)
        }
        if path == "/unload" {
            guard method == .GET || method == .POST else { return .methodNotAllowed(allowed: "GET, POST") }
            let model = RequestSniffer.parseQuery(query)["model"].flatMap { $0.isEmpty ? nil : $0 }
            return .unload(model: model)
        }
        if path == "/logs/stream" || path.hasPrefix("/logs/stream/") {
            guard method == .GET else { return .methodNotAllowed(allowed: "GET") }
            let history = !RequestSniffer.parseQuery(query).keys.contains("no-history")
            let source: LogStreamSource
            switch suffix(of: path, after: "/logs/stream/") ?? "" {
            case "": source = .all
            case "proxy": source = .proxy
            case "upstream": source = .upstream
            case let id: source = .model(RequestSniffer.percentDecoded(id))
            }
            return .logStream(source, history: history)
        }
        return .notFound
    }

    private static func suffix(of path: String, after prefix: String) -> String? {
        path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : nil
    }
}

/// Where `/upstream/{model}/{rest}` splits, when the model id may contain `/` (`org/model`): llama-swap's rule —
/// the shortest leading run of segments that names a model (or alias) wins.
struct UpstreamPath: Equatable {
    /// The id as written in the path (an alias stays an alias).
    var model: String
    /// The path to forward, starting with `/` (`/` when nothing follows the id).
    var forwardPath: String
    /// True for `/upstream/{model}` with no `/` after the id: llama-swap redirects to `/upstream/{model}/`.
    var needsTrailingSlash: Bool

    /// Splits `rest` (the path after `/upstream/`); `nil` when no leading run of segments names a model.
    static func split(_ rest: String, isModel: (String) -> Bool) -> UpstreamPath? {
        // The common case without splitting and joining every segment (1.5 % of a small request's CPU): a model
        // named by the first segment, without escapes, and a path after it. The same answer as the walk below.
        let utf8 = rest.utf8
        if let slash = utf8.firstIndex(of: UInt8(ascii: "/")), slash != utf8.startIndex,
            !utf8[..<slash].contains(UInt8(ascii: "%"))
        {
            let first = String(rest[..<slash])
            if isModel(first) {
                return UpstreamPath(model: first, forwardPath: String(rest[slash...]), needsTrailingSlash: false)
            }
        }
        return walk(rest, isModel: isModel)
    }

    /// The general split: the shortest run of decoded segments that names a model.
    static func walk(_ rest: String, isModel: (String) -> Bool) -> UpstreamPath? {
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        var name = ""
        for (index, segment) in segments.enumerated() {
            if segment.isEmpty { continue }
            let decoded = RequestSniffer.percentDecoded(String(segment))
            name = name.isEmpty ? decoded : name + "/" + decoded
            guard isModel(name) else { continue }
            let remaining = segments[(index + 1)...]
            let forward = "/" + remaining.joined(separator: "/")
            return UpstreamPath(model: name, forwardPath: forward, needsTrailingSlash: remaining.isEmpty)
        }
        return nil
    }
}
