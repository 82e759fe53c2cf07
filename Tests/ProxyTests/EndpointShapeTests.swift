import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// A stand-in supervisor for the admin endpoints: fixed running rows and log lines, and a record of unloads.
final class EndpointFakeAdmin: ProxyAdmin {
    actor Unloads {
        var calls: [String?] = []
        func add(_ model: String?) { calls.append(model) }
    }

    let rows: [RunningModelSummary]
    let lines: [String]
    let live: [String]
    let unloads = Unloads()

    init(rows: [RunningModelSummary] = [], lines: [String] = [], live: [String] = []) {
        self.rows = rows
        self.lines = lines
        self.live = live
    }

    func runningModels() async -> [RunningModelSummary] { rows }
    func unload(model: String?) async { await unloads.add(model) }
    func recentLogLines() -> [String] { lines }
    func followLogLines() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        for line in live { continuation.yield(line) }
        continuation.finish()
        return stream
    }
}

/// The JSON and headers of the endpoints the proxy answers itself, decoded and compared field by field with the
/// shapes llama-swap gives (proxy/proxymanager.go, proxymanager_api.go, proxymanager_loghandlers.go).
@Suite struct EndpointShapeTests {
    static func config(includeAliases: Bool = false, apiKeys: [String] = []) -> ProxyConfig {
        let upstream = UpstreamURL(host: "127.0.0.1", port: 9)
        var a = ModelConfig(
            id: "a", command: ["llama-server", "--port", "9"], upstream: upstream,
            aliases: [ModelAlias(id: "a-one", name: "A One"), ModelAlias(id: "a-hidden", unlisted: true)],
            ttl: .seconds(300), name: " Model A ", description: "first")
        a.metadata = .mapping([("temperature", .number(0.7)), ("tags", .list([.string("x"), .integer(2)]))])
        a.capabilities.input = ["text", "image"]
        a.capabilities.output = ["text"]
        a.capabilities.tools = true
        a.capabilities.context = 32000
        let hidden = ModelConfig(id: "b-hidden", command: nil, upstream: upstream, unlisted: true)
        let org = ModelConfig(id: "org/c", command: nil, upstream: upstream, aliases: [ModelAlias(id: "c")])
        var config = ProxyConfig(apiKeys: apiKeys, models: ["a": a, "b-hidden": hidden, "org/c": org])
        config.includeAliasesInList = includeAliases
        return config
    }

    static func request(_ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], body: String = "")
        -> ProxyRequest
    {
        ProxyRequest(
            head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers)),
            body: ByteBuffer(string: body), arrival: .now(), sniffed: nil)
    }

    static func response(_ decision: ProxyRouter.Decision) async throws -> SimpleResponse {
        switch decision {
        case .respond(let response): return response
        case .respondLater(let produce): return await produce()
        default: throw ShapeError.notAResponse
        }
    }

    enum ShapeError: Error { case notAResponse, notAnObject }

    static func object(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ShapeError.notAnObject
        }
        return object
    }

    static func router(_ config: ProxyConfig, admin: EndpointFakeAdmin?) -> ProxyRouter {
        ProxyRouter(config: config, provider: FixedUpstreamProvider(), admin: admin)
    }

    // MARK: /v1/models

    @Test(arguments: [false, true])
    func modelListFields(includeAliases: Bool) async throws {
        let admin = EndpointFakeAdmin(rows: [
            RunningModelSummary(model: "a", state: "ready", inFlight: 1),
            RunningModelSummary(model: "org/c", state: "starting", inFlight: 0),
        ])
        let router = Self.router(Self.config(includeAliases: includeAliases), admin: admin)
        let before = Int(Date().timeIntervalSince1970)
        let response = try await Self.response(
            router.decide(Self.request(.GET, "/v1/models", headers: [("Origin", "http://ui.test")])))
        #expect(response.status == 200)
        #expect(response.headers.contains { $0.0 == "Access-Control-Allow-Origin" && $0.1 == "http://ui.test" })
        let list = try Self.object(response.body)
        #expect(list["object"] as? String == "list")
        let data = try #require(list["data"] as? [[String: Any]])
        let ids = data.compactMap { $0["id"] as? String }
        #expect(ids == (includeAliases ? ["a", "a-one", "c", "org/c"] : ["a", "org/c"]))
        let byID = Dictionary(uniqueKeysWithValues: data.map { ($0["id"] as! String, $0) })

        let a = try #require(byID["a"])
        #expect(a["object"] as? String == "model" && a["owned_by"] as? String == "llama-swap")
        #expect((a["created"] as? Int).map { $0 >= before && $0 <= before + 5 } == true)
        #expect(a["name"] as? String == "Model A" && a["description"] as? String == "first")
        let meta = try #require(a["meta"] as? [String: Any])
        let llamaswap = try #require(meta["llamaswap"] as? [String: Any])
        #expect(llamaswap["temperature"] as? Double == 0.7 && (llamaswap["tags"] as? [Any])?.count == 2)
        #expect(llamaswap["type"] as? String == "model" && llamaswap["aliases"] as? [String] == ["a-one", "a-hidden"])
        #expect(meta["n_ctx"] as? Int == 32000)
        // llama-swap's renderCapabilities for in [text, image], out [text], tools, context 32000.
        let architecture = try #require(a["architecture"] as? [String: Any])
        #expect(architecture["input_modalities"] as? [String] == ["text", "image"])
        #expect(architecture["output_modalities"] as? [String] == ["text"])
        #expect(architecture["modality"] as? String == "text+image->text")
        let capabilities = try #require(a["capabilities"] as? [String: Bool])
        #expect(capabilities == ["vision": true, "function_calling": true])
        #expect(a["supported_parameters"] as? [String] == ["tools", "tool_choice"])
        #expect(a["context_length"] as? Int == 32000 && a["context_window"] as? Int == 32000)
        #expect((a["status"] as? [String: Any])?["value"] as? String == "loaded")

        // Starting is "loaded" in llama-swap's two words (it has a process); /running tells the states apart.
        let c = try #require(byID["org/c"])
        #expect((c["status"] as? [String: Any])?["value"] as? String == "loaded")
        #expect(c["capabilities"] == nil && c["architecture"] == nil && c["context_window"] == nil && c["name"] == nil)
        let cMeta = try #require((c["meta"] as? [String: Any])?["llamaswap"] as? [String: Any])
        #expect(cMeta.count == 2 && cMeta["type"] as? String == "model" && cMeta["aliases"] as? [String] == ["c"])
        if includeAliases {
            #expect(byID["a-one"]?["name"] as? String == "A One")
            let alias = try #require((byID["a-one"]?["meta"] as? [String: Any])?["llamaswap"] as? [String: Any])
            #expect(alias["type"] as? String == "alias" && alias["modelID"] as? String == "a")
            #expect(alias["temperature"] as? Double == 0.7)
            #expect((byID["c"]?["status"] as? [String: Any])?["value"] as? String == "loaded")
            #expect(byID["a-hidden"] == nil)
        }
    }

    @Test func unloadedWhenNotRunning() async throws {
        let router = Self.router(Self.config(), admin: EndpointFakeAdmin())
        let response = try await Self.response(router.decide(Self.request(.GET, "/v1/models")))
        let data = try #require(try Self.object(response.body)["data"] as? [[String: Any]])
        #expect(data.map { ($0["status"] as? [String: Any])?["value"] as? String } == ["unloaded", "unloaded"])
        #expect(!response.headers.contains { $0.0 == "Access-Control-Allow-Origin" })
    }

    /// llama-swap's renderCapabilities, flag by flag: each modality pair implies its flag, `reranker` and `tools`
    /// their own; metadata keys the renderer owns are dropped from `meta.llamaswap` when there are capabilities.
    @Test(arguments: [
        (["audio"], ["text"], false, false, ["audio_transcriptions"]),
        (["text"], ["audio"], false, false, ["audio_speech"]),
        (["text"], ["image"], false, false, ["image_generation"]),
        (["image"], ["image"], false, false, ["image_to_image", "vision"]),
        (["text"], ["text"], false, true, ["reranker"]),
        ([], [], true, false, ["function_calling"]),
    ])
    func capabilityFlags(input: [String], output: [String], tools: Bool, reranker: Bool, flags: [String]) throws {
        var model = ModelConfig(id: "m", command: nil, upstream: UpstreamURL(host: "127.0.0.1", port: 9))
        model.capabilities.input = input
        model.capabilities.output = output
        model.capabilities.tools = tools
        model.capabilities.reranker = reranker
        model.metadata = .mapping([("context_length", .integer(1)), ("keep", .bool(true))])
        let list = try Self.object(AdminResponses.modelList(ProxyConfig(models: ["m": model]), states: nil, created: 0))
        let m = try #require((list["data"] as? [[String: Any]])?.first)
        let capabilities = try #require(m["capabilities"] as? [String: Bool])
        #expect(capabilities.keys.sorted() == flags && capabilities.values.allSatisfy { $0 })
        #expect(m["status"] == nil && m["context_length"] == nil)
        let meta = try #require((m["meta"] as? [String: Any])?["llamaswap"] as? [String: Any])
        #expect(meta.count == 2 && meta["keep"] as? Bool == true && meta["type"] as? String == "model")
    }

    /// llama-swap lists selectors (strategy, targets, spillover; `loaded` when a target it would pick runs or starts)
    /// and the active profile's pins that no model, alias, peer model or selector already names.
    @Test(arguments: [("ready", "loaded"), (nil, "unloaded")] as [(String?, String)])
    func selectorsAndActivePinsAreListed(bState: String?, fastStatus: String) async throws {
        let (config, warnings) = try loadConfig(
            """
            models:
              a: {proxy: "http://127.0.0.1:9", aliases: [a1]}
              b: {proxy: "http://127.0.0.1:9"}
            selectors:
              fast: {strategy: warm, targets: [b, a], name: Fast, description: first warm}
              first: {strategy: pin, targets: [a, b]}
              spill: {strategy: spillover, targets: [a1], settings: {spillover: 2}}
              hidden: {strategy: pin, targets: [a], unlisted: true}
            profiles:
              coding:
                pins: {llm-plan: a, a1: b, fast: a, gone: ~}
            hooks:
              on_startup: {profile: coding}
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        let admin = EndpointFakeAdmin(rows: bState.map { [RunningModelSummary(model: "b", state: $0, inFlight: 0)] } ?? [])
        let response = try await Self.response(Self.router(config, admin: admin).decide(Self.request(.GET, "/v1/models")))
        let data = try #require(try Self.object(response.body)["data"] as? [[String: Any]])
        #expect(data.compactMap { $0["id"] as? String } == ["a", "b", "fast", "first", "llm-plan", "spill"])
        let byID = Dictionary(uniqueKeysWithValues: data.map { ($0["id"] as! String, $0) })
        func status(_ id: String) -> String? { (byID[id]?["status"] as? [String: Any])?["value"] as? String }
        func meta(_ id: String) -> [String: Any]? { (byID[id]?["meta"] as? [String: Any])?["llamaswap"] as? [String: Any] }
        #expect(status("fast") == fastStatus && status("first") == "unloaded" && status("spill") == "unloaded")
        #expect(status("llm-plan") == "unloaded")
        #expect(byID["fast"]?["name"] as? String == "Fast" && byID["fast"]?["description"] as? String == "first warm")
        #expect(meta("fast")?["type"] as? String == "selector" && meta("fast")?["strategy"] as? String == "warm")
        #expect(meta("fast")?["targets"] as? [String] == ["b", "a"] && meta("fast")?["spillover"] == nil)
        #expect(meta("spill")?["strategy"] as? String == "spillover" && meta("spill")?["spillover"] as? Int == 2)
        #expect(meta("llm-plan")?.count == 1 && meta("llm-plan")?["type"] as? String == "profile")
        #expect(byID["llm-plan"]?["name"] == nil)
    }

    /// The active profile's pins apply to `/upstream/<pin>/…` (the longest pin at the start of the path), as
    /// llama-swap's profile middleware does; a disabled pin is a 404.
    @Test(arguments: [
        ("/upstream/x/props", "b", "/props"), ("/upstream/org/x/health?q=1", "a", "/health?q=1"),
        ("/upstream/a/slots", "b", "/slots"), ("/upstream/b/slots", "b", "/slots"), ("/upstream/off/health", nil, nil),
    ] as [(String, String?, String?)])
    func pinsApplyToUpstreamPaths(uri: String, model: String?, forwarded: String?) throws {
        let (config, warnings) = try loadConfig(
            """
            models:
              a: {proxy: "http://127.0.0.1:9"}
              b: {proxy: "http://127.0.0.1:9"}
            profiles:
              p:
                pins: {x: b, org/x: a, a: b, "off": ~}
            hooks:
              on_startup: {profile: p}
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        switch Self.router(config, admin: nil).decide(Self.request(.GET, uri)) {
        case .relay(let settings):
            #expect(settings.requestedModel == model && settings.forwardURI == forwarded)
        case .respond(let response):
            #expect(model == nil && response.status == 404, "\(response.status) \(response.body)")
        default:
            Issue.record("neither relayed nor answered")
        }
    }

    @Test func apiVersion() async throws {
        let response = try await Self.response(Self.router(Self.config(), admin: nil).decide(Self.request(.GET, "/api/version")))
        #expect(response.status == 200)
        let object = try Self.object(response.body)
        #expect(object as? [String: String] == ["version": ProxyInfo.version, "commit": "unknown", "build_date": "unknown"])
    }

    @Test(arguments: [("/wol-health", 200, nil), ("/upstream", 302, "/ui/#/models")] as [(String, Int, String?)])
    func openEndpoints(path: String, status: Int, location: String?) async throws {
        // Answered without the key, as llama-swap does.
        let router = Self.router(Self.config(apiKeys: ["k"]), admin: nil)
        let response = try await Self.response(router.decide(Self.request(.GET, path)))
        #expect(response.status == status)
        #expect(response.headers.first { $0.0 == "Location" }?.1 == location)
    }

    // MARK: /running

    @Test func runningFields() async throws {
        let admin = EndpointFakeAdmin(rows: [RunningModelSummary(model: "a", state: "ready", inFlight: 2)])
        let router = Self.router(Self.config(), admin: admin)
        let response = try await Self.response(router.decide(Self.request(.GET, "/running")))
        let rows = try #require(try Self.object(response.body)["running"] as? [[String: Any]])
        let row = try #require(rows.first)
        #expect(rows.count == 1)
        #expect(row["model"] as? String == "a" && row["state"] as? String == "ready")
        #expect(row["cmd"] as? String == "llama-server --port 9" && row["proxy"] as? String == "http://127.0.0.1:9")
        #expect(row["ttl"] as? Int == 300 && row["name"] as? String == " Model A ")
        #expect(row["description"] as? String == "first" && row["inFlight"] as? Int == 2)
    }

    // MARK: unload API

    struct UnloadRow: Sendable, CustomTestStringConvertible {
        var uri: String
        var status: Int
        var body: String
        var unloaded: [String?]
        var testDescription: String { uri }
    }

    static let unloadRows: [UnloadRow] = [
        UnloadRow(uri: "/api/models/unload", status: 200, body: "{\"msg\":\"ok\"}", unloaded: [nil]),
        UnloadRow(uri: "/api/models/unload/a", status: 200, body: "OK", unloaded: ["a"]),
        UnloadRow(uri: "/api/models/unload/c", status: 200, body: "OK", unloaded: ["org/c"]),
        UnloadRow(uri: "/api/models/unload/org/c", status: 200, body: "OK", unloaded: ["org/c"]),
        UnloadRow(uri: "/api/models/unload/nope", status: 404, body: "model 'nope' is not configured", unloaded: []),
    ]

    @Test(arguments: unloadRows)
    func unloadAPI(_ row: UnloadRow) async throws {
        let admin = EndpointFakeAdmin()
        let router = Self.router(Self.config(), admin: admin)
        let response = try await Self.response(router.decide(Self.request(.POST, row.uri)))
        #expect(response.status == row.status)
        #expect(response.body.contains(row.body))
        if row.status != 200 { #expect(try Self.object(response.body)["error"] != nil) }
        #expect(await admin.unloads.calls == row.unloaded)
    }

    // MARK: CORS

    struct PreflightRow: Sendable, CustomTestStringConvertible {
        var requested: String?
        var allowHeaders: String
        var testDescription: String { requested ?? "(none)" }
    }

    static let preflights: [PreflightRow] = [
        PreflightRow(requested: nil, allowHeaders: "Content-Type, Authorization, Accept, X-Requested-With"),
        PreflightRow(requested: "content-type,authorization", allowHeaders: "content-type, authorization"),
        PreflightRow(requested: " x-api-key , ,bad header, x\u{7f}y, ok", allowHeaders: "x-api-key, ok"),
    ]

    @Test(arguments: preflights)
    func preflightBeforeAuth(_ row: PreflightRow) async throws {
        let router = Self.router(Self.config(apiKeys: ["k"]), admin: nil)
        var headers = [("Origin", "http://ui.test"), ("Access-Control-Request-Method", "POST")]
        if let requested = row.requested { headers.append(("Access-Control-Request-Headers", requested)) }
        let response = try await Self.response(
            router.decide(Self.request(.OPTIONS, "/v1/chat/completions", headers: headers)))
        let fields = Dictionary(response.headers, uniquingKeysWith: { first, _ in first })
        #expect(response.status == 204 && response.body.isEmpty)
        #expect(fields["Access-Control-Allow-Origin"] == "*")
        #expect(fields["Access-Control-Allow-Methods"] == "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        #expect(fields["Access-Control-Allow-Headers"] == row.allowHeaders)
        #expect(fields["Access-Control-Max-Age"] == "86400")
    }

    // MARK: API keys

    struct AuthRow: Sendable, CustomTestStringConvertible {
        var name: String
        var headers: [String]
        var allowed: Bool
        var testDescription: String { name }
    }

    static func basic(_ credentials: String) -> String { "Basic " + Data(credentials.utf8).base64EncodedString() }

    static let authRows: [AuthRow] = [
        AuthRow(name: "basic, any user", headers: ["Authorization", basic("anyone:sk-1")], allowed: true),
        AuthRow(name: "basic, empty user", headers: ["Authorization", basic(":sk-1")], allowed: true),
        AuthRow(name: "basic, key with colon", headers: ["Authorization", basic("u:sk:2")], allowed: true),
        AuthRow(name: "basic, wrong key", headers: ["Authorization", basic("sk-1:nope")], allowed: false),
        AuthRow(name: "basic, not base64", headers: ["Authorization", "Basic !!!"], allowed: false),
        AuthRow(name: "bearer", headers: ["Authorization", "Bearer sk-1"], allowed: true),
        AuthRow(name: "x-api-key", headers: ["x-api-key", "sk:2"], allowed: true),
        AuthRow(
            name: "wrong bearer beats right x-api-key",
            headers: ["Authorization", "Bearer nope", "x-api-key", "sk-1"], allowed: false),
        AuthRow(name: "none", headers: [], allowed: false),
    ]

    @Test(arguments: authRows)
    func apiKeys(_ row: AuthRow) async throws {
        let router = Self.router(Self.config(apiKeys: ["sk-1", "sk:2"]), admin: nil)
        let pairs = stride(from: 0, to: row.headers.count, by: 2).map { (row.headers[$0], row.headers[$0 + 1]) }
        let response = try await Self.response(router.decide(Self.request(.GET, "/v1/models", headers: pairs)))
        #expect(response.status == (row.allowed ? 200 : 401))
        if !row.allowed {
            #expect(response.headers.contains { $0.0 == "WWW-Authenticate" && $0.1.hasPrefix("Basic realm=") })
            #expect(try Self.object(response.body)["error"] != nil)
        }
    }

    // MARK: logs

    struct LogRow: Sendable, CustomTestStringConvertible {
        var uri: String
        var backlog: [String]
        var live: [String]
        var testDescription: String { uri }
    }

    static let lines = ["[proxy] info: started", "[a] loading", "[org/c] ready", "[proxy] warn: slow"]
    static let logRows: [LogRow] = [
        LogRow(uri: "/logs/stream", backlog: lines, live: lines),
        LogRow(uri: "/logs/stream?no-history", backlog: [], live: lines),
        LogRow(uri: "/logs/stream/proxy", backlog: [lines[0], lines[3]], live: [lines[0], lines[3]]),
        LogRow(uri: "/logs/stream/upstream", backlog: [lines[1], lines[2]], live: [lines[1], lines[2]]),
        LogRow(uri: "/logs/stream/org/c?no-history", backlog: [], live: [lines[2]]),
        LogRow(uri: "/logs/stream/c", backlog: [lines[2]], live: [lines[2]]),
    ]

    @Test(arguments: logRows)
    func logStreams(_ row: LogRow) async throws {
        let admin = EndpointFakeAdmin(lines: Self.lines, live: Self.lines)
        let router = Self.router(Self.config(), admin: admin)
        guard case .followLogs(let backlog, let live) = router.decide(Self.request(.GET, row.uri)) else {
            Issue.record("\(row.uri) is not a log stream")
            return
        }
        #expect(backlog == row.backlog)
        var received: [String] = []
        for await line in live { received.append(line) }
        #expect(received == row.live)
    }

    @Test func unknownLogIs400() async throws {
        let router = Self.router(Self.config(), admin: EndpointFakeAdmin())
        let response = try await Self.response(router.decide(Self.request(.GET, "/logs/stream/nope")))
        #expect(try response.status == 400 && Self.object(response.body)["error"] != nil)
    }

    // MARK: model from query, forms, /upstream

    struct RelayRow: Sendable, CustomTestStringConvertible {
        var method: HTTPMethod
        var uri: String
        var headers: [String]
        var body: String
        var model: String?
        var forwardURI: String?
        var status: Int?
        var testDescription: String { "\(method.rawValue) \(uri) \(body)" }
    }

    static let relayRows: [RelayRow] = [
        RelayRow(method: .GET, uri: "/props?model=c", headers: [], body: "", model: "c", forwardURI: "/props?model=c"),
        RelayRow(method: .GET, uri: "/props", headers: [], body: "", status: 400),
        RelayRow(method: .GET, uri: "/v1/audio/voices?model=nope", headers: [], body: "", status: 404),
        RelayRow(
            method: .POST, uri: "/v1/audio/speech",
            headers: ["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"],
            body: "input=hi+there&model=org%2Fc&voice=x", model: "org/c", forwardURI: "/v1/audio/speech"),
        RelayRow(
            method: .POST, uri: "/v1/completions", headers: ["Content-Type", "application/x-www-form-urlencoded"],
            body: "prompt=x", status: 400),
        RelayRow(
            method: .GET, uri: "/upstream/org/c/slots?x=1", headers: [], body: "", model: "org/c",
            forwardURI: "/slots?x=1"),
        RelayRow(method: .GET, uri: "/upstream/c/", headers: [], body: "", model: "c", forwardURI: "/"),
        RelayRow(method: .GET, uri: "/upstream/org/nope/x", headers: [], body: "", status: 404),
    ]

    @Test(arguments: relayRows)
    func relays(_ row: RelayRow) async throws {
        let router = Self.router(Self.config(), admin: nil)
        let pairs = stride(from: 0, to: row.headers.count, by: 2).map { (row.headers[$0], row.headers[$0 + 1]) }
        let decision = router.decide(Self.request(row.method, row.uri, headers: pairs, body: row.body))
        if let status = row.status {
            let response = try await Self.response(decision)
            #expect(try response.status == status && Self.object(response.body)["error"] != nil)
        } else {
            guard case .relay(let settings) = decision else {
                Issue.record("\(row.uri) is not relayed")
                return
            }
            #expect(settings.requestedModel == row.model && settings.forwardURI == row.forwardURI)
        }
    }

    @Test(arguments: [("GET", 301), ("POST", 308)])
    func upstreamWithoutSlashRedirects(method: String, status: Int) async throws {
        let router = Self.router(Self.config(), admin: nil)
        let response = try await Self.response(
            router.decide(Self.request(HTTPMethod(rawValue: method), "/upstream/org/c?q=1")))
        #expect(response.status == status)
        #expect(response.headers.contains { $0.0 == "Location" && $0.1 == "/upstream/org/c/?q=1" })
    }
}
