import NIOHTTP1
import Testing

@testable import Proxy

/// `ProxyRoute.classify` as a table: method, path, query → route. Pure, so every llama-swap endpoint shape is a row.
@Suite struct EndpointRouteTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var method: HTTPMethod
        var path: String
        var query: String?
        var route: ProxyRoute
        var testDescription: String { "\(method.rawValue) \(path)\(query.map { "?\($0)" } ?? "")" }
    }

    static let rows: [Row] = [
        Row(method: .POST, path: "/v1/chat/completions", route: .model),
        Row(method: .GET, path: "/v1/chat/completions", route: .methodNotAllowed(allowed: "POST")),
        Row(method: .POST, path: "/v1/audio/transcriptions", route: .model),
        Row(method: .POST, path: "/sdapi/v1/txt2img", route: .model),
        Row(method: .GET, path: "/v1/audio/voices", query: "model=tts", route: .modelFromQuery),
        Row(method: .POST, path: "/v1/audio/voices", route: .model),
        Row(method: .GET, path: "/props", query: "model=m", route: .modelFromQuery),
        Row(method: .POST, path: "/props", route: .methodNotAllowed(allowed: "GET")),
        Row(method: .GET, path: "/sdapi/v1/loras", route: .modelFromQuery),
        Row(method: .GET, path: "/v1/models", route: .listModels),
        Row(method: .GET, path: "/models", route: .listModels),
        Row(method: .POST, path: "/v1/models", route: .methodNotAllowed(allowed: "GET")),
        Row(method: .GET, path: "/running", route: .running),
        Row(method: .GET, path: "/unload", route: .unload(model: nil)),
        Row(method: .GET, path: "/unload", query: "model=a%2Fb", route: .unload(model: "a/b")),
        Row(method: .POST, path: "/api/models/unload", route: .apiUnload(model: nil)),
        Row(method: .GET, path: "/api/models/unload", route: .methodNotAllowed(allowed: "POST")),
        Row(method: .POST, path: "/api/models/unload/m", route: .apiUnload(model: "m")),
        Row(method: .POST, path: "/api/models/unload/org/model", route: .apiUnload(model: "org/model")),
        Row(method: .POST, path: "/api/models/unload/", route: .apiUnload(model: nil)),
        Row(method: .GET, path: "/api/models/unload/m", route: .methodNotAllowed(allowed: "POST")),
        Row(method: .GET, path: "/logs", route: .logs),
        Row(method: .GET, path: "/logs/stream", route: .logStream(.all, history: true)),
        Row(method: .GET, path: "/logs/stream", query: "no-history", route: .logStream(.all, history: false)),
        Row(method: .GET, path: "/logs/stream/proxy", route: .logStream(.proxy, history: true)),
        Row(
            method: .GET, path: "/logs/stream/upstream", query: "no-history=1",
            route: .logStream(.upstream, history: false)),
        Row(method: .GET, path: "/logs/stream/org/m", route: .logStream(.model("org/m"), history: true)),
        Row(method: .GET, path: "/logs/stream/org%2Fm", route: .logStream(.model("org/m"), history: true)),
        Row(method: .POST, path: "/logs/stream/proxy", route: .methodNotAllowed(allowed: "GET")),
        Row(method: .GET, path: "/upstream/m/props", route: .upstream(path: "m/props")),
        Row(method: .DELETE, path: "/upstream/org/m/slots/0", route: .upstream(path: "org/m/slots/0")),
        Row(method: .GET, path: "/upstream/", route: .notFound),
        Row(method: .OPTIONS, path: "/v1/chat/completions", route: .preflight),
        Row(method: .OPTIONS, path: "/nowhere", route: .preflight),
        Row(method: .GET, path: "/health", route: .health),
        Row(method: .POST, path: "/health", route: .health),
        Row(method: .GET, path: "/nowhere", route: .notFound),
        // llama-swap's versionless routes, audio.cpp's task API, wol-proxy's health check, the version, /upstream.
        Row(method: .POST, path: "/v/chat/completions", route: .model),
        Row(method: .POST, path: "/v/messages/count_tokens", route: .model),
        Row(method: .GET, path: "/v/embeddings", route: .methodNotAllowed(allowed: "POST")),
        Row(method: .POST, path: "/v/models", route: .notFound),
        Row(method: .POST, path: "/audioapi/v1/tasks/run", route: .model),
        Row(method: .GET, path: "/wol-health", route: .health),
        Row(method: .GET, path: "/api/version", route: .version),
        Row(method: .GET, path: "/upstream", route: .ui(.redirectToModels)),
    ]

    /// What a model route's request is forwarded as: llama-swap strips `/v` and `/audioapi`, nothing else.
    @Test(arguments: [
        ("/v/chat/completions?a=1", "/chat/completions?a=1"), ("/audioapi/v1/tasks/run", "/v1/tasks/run"),
        ("/v1/chat/completions", "/v1/chat/completions"), ("/v1/audio/speech", "/v1/audio/speech"),
    ])
    func forwardURI(uri: String, forwarded: String) {
        #expect(ProxyRoute.forwardURI(uri) == forwarded)
    }

    @Test(arguments: rows)
    func classifies(_ row: Row) {
        #expect(ProxyRoute.classify(method: row.method, path: row.path, query: row.query) == row.route)
    }

    struct SplitRow: Sendable, CustomTestStringConvertible {
        var rest: String
        var split: UpstreamPath?
        var testDescription: String { rest }
    }

    /// Models `m`, `org/m`, `org/m/v2` and the alias `short`: the shortest leading run that names one wins, as in
    /// llama-swap's `findModelInPath`.
    static let splits: [SplitRow] = [
        SplitRow(rest: "m/props", split: UpstreamPath(model: "m", forwardPath: "/props", needsTrailingSlash: false)),
        SplitRow(rest: "m/", split: UpstreamPath(model: "m", forwardPath: "/", needsTrailingSlash: false)),
        SplitRow(rest: "m", split: UpstreamPath(model: "m", forwardPath: "/", needsTrailingSlash: true)),
        SplitRow(
            rest: "org/m/v1/chat/completions",
            split: UpstreamPath(model: "org/m", forwardPath: "/v1/chat/completions", needsTrailingSlash: false)),
        SplitRow(
            rest: "org/m/v2/x", split: UpstreamPath(model: "org/m", forwardPath: "/v2/x", needsTrailingSlash: false)),
        SplitRow(rest: "org%2Fm/x", split: UpstreamPath(model: "org/m", forwardPath: "/x", needsTrailingSlash: false)),
        SplitRow(rest: "org/m", split: UpstreamPath(model: "org/m", forwardPath: "/", needsTrailingSlash: true)),
        SplitRow(
            rest: "short/health", split: UpstreamPath(model: "short", forwardPath: "/health", needsTrailingSlash: false)
        ),
        SplitRow(rest: "org/x/health", split: nil),
        SplitRow(rest: "nobody", split: nil),
    ]

    @Test(arguments: splits)
    func splitsUpstreamPaths(_ row: SplitRow) {
        let models: Set<String> = ["m", "org/m", "org/m/v2", "short"]
        #expect(UpstreamPath.split(row.rest, isModel: models.contains) == row.split)
    }

    /// The first-segment shortcut answers as the general walk does, for every path these pieces make.
    @Test func theShortcutAnswersAsTheWalk() {
        let models: Set<String> = ["m", "org/m", "short", "a%b", "m/x"]
        let pieces = ["m", "org", "short", "x", "", "%2F", "org%2Fm", "a%25b", "props", "m%2Fx", "v1", "."]
        var checked = 0
        for first in pieces {
            for second in pieces {
                for third in pieces {
                    for rest in ["\(first)/\(second)", "\(first)/\(second)/\(third)", "/\(first)/\(second)", first] {
                        let walked = UpstreamPath.walk(rest, isModel: models.contains)
                        #expect(UpstreamPath.split(rest, isModel: models.contains) == walked, "\(rest)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == 12 * 12 * 12 * 4)
    }
}
