import NIOHTTP1

/// What a request is, by method and path alone: the first decision of routing, kept pure so it is testable.
enum ProxyRoute: Equatable {
    /// An inference endpoint; the model comes from the body, form or query.
    case model
    /// `/upstream/{model}/{rest}`: raw passthrough to that model's upstream, path rewritten to `/{rest}`.
    case upstream(model: String, forwardURI: String)
    case listModels
    case running
    case unload(model: String?)
    case health
    case logs
    case logStream
    /// `GET /metrics`: Prometheus text format.
    case metrics
    case notFound
    case methodNotAllowed(allowed: String)

    /// Inference paths llama-swap routes by model (exact), and prefixes (`/v1/audio/…`).
    static let modelPaths: Set<String> = [
        "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages", "/v1/messages/count_tokens",
        "/v1/responses", "/v1/rerank", "/v1/reranking", "/rerank", "/reranking", "/completion", "/completions",
        "/infill", "/embedding", "/embeddings", "/v1/images/generations", "/v1/images/edits",
    ]
    static let modelPathPrefixes = ["/v1/audio/"]

    static func classify(method: HTTPMethod, path: String, query: String?) -> ProxyRoute {
        if modelPaths.contains(path) || modelPathPrefixes.contains(where: path.hasPrefix) {
            return method == .POST ? .model : .methodNotAllowed(allowed: "POST")
        }
        if path.hasPrefix("/upstream/") {
            let rest = path.dropFirst("/upstream/".count)
            guard let slash = rest.firstIndex(of: "/") else {
                return rest.isEmpty ? .notFound : .upstream(model: String(rest), forwardURI: "/" + (query.map { "?\($0)" } ?? ""))
            }
            let model = String(rest[..<slash])
            let forwardPath = String(rest[slash...])
            return .upstream(model: model, forwardURI: forwardPath + (query.map { "?\($0)" } ?? ""))
        }
        switch path {
        case "/v1/models", "/models":
            return method == .GET ? .listModels : .methodNotAllowed(allowed: "GET")
        case "/running":
            return method == .GET ? .running : .methodNotAllowed(allowed: "GET")
        case "/unload":
            guard method == .GET || method == .POST else { return .methodNotAllowed(allowed: "GET, POST") }
            let model = RequestSniffer.parseQuery(query)["model"].flatMap { $0.isEmpty ? nil : $0 }
            return .unload(model: model)
        case "/health":
            return .health
        case "/logs":
            return method == .GET ? .logs : .methodNotAllowed(allowed: "GET")
        case "/logs/stream":
            return method == .GET ? .logStream : .methodNotAllowed(allowed: "GET")
        case "/metrics":
            return method == .GET ? .metrics : .methodNotAllowed(allowed: "GET")
        default:
            return .notFound
        }
    }
}
