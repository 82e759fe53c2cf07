import SeededRandom
/// What a real llama-server answers when no script says otherwise, byte-shaped like the reference captures.
///
/// `/health` follows the scenario's health script; while it says "loading" (503 with llama.cpp's body) every
/// endpoint but `/health` and the model lists answers that 503, as llama-server's middleware does. Streams are
/// chat_stream.raw-shaped and end by closing the connection while advertising keep-alive (`Ending.close`), as
/// llama-server does after every streamed response; non-streamed answers keep the connection.
public struct LlamaServerDefaults: Sendable {
    /// Model of generated chunks when the request names none, and first entry of the model lists.
    public var model: String
    /// More ids for the model lists.
    public var models: [String]
    /// `/health` over time, from the scenario.
    public var health: HealthScript
    /// Multiplies generation times and health durations.
    public var timeScale: Double
    /// Generation speed of default answers (before scaling); llama-server on a tiny model is fast, this is not
    /// meant to be realistic, only visible.
    public var tokensPerSecond: Double
    /// Tokens generated when the request sets no `max_tokens` / `n_predict` (the reference captures used 16).
    public var defaultTokenCount: Int
    /// The imitated release's head timing and pings, from the scenario.
    public var llamaServer: LlamaServerBehaviour

    /// The defaults of `scenario`'s model list and health script; `timeScale` replaces the scenario's when given.
    public init(
        scenario: Scenario,
        timeScale: Double? = nil,
        tokensPerSecond: Double = 100,
        defaultTokenCount: Int = 16
    ) {
        self.model = scenario.model
        self.models = scenario.models
        self.health = scenario.health
        self.timeScale = timeScale ?? scenario.timeScale
        self.tokensPerSecond = tokensPerSecond
        self.defaultTokenCount = defaultTokenCount
        self.llamaServer = scenario.llamaServer
    }

    /// llama.cpp's body for 503 while the model loads.
    public static let loadingModelBody = LlamaServerJSON.error(
        code: 503, message: "Loading model", type: "unavailable_error"
    )

    /// Paths that are answered by these defaults even in strict mode: a harness must always be able to poll health
    /// and list models.
    public static func answersInStrictMode(path: String) -> Bool {
        healthPaths.contains(path) || modelPaths.contains(path)
    }

    static let healthPaths: Set<String> = ["/health", "/v1/health"]
    static let modelPaths: Set<String> = ["/v1/models", "/models"]
    static let chatPaths: Set<String> = ["/v1/chat/completions", "/chat/completions"]
    static let completionPaths: Set<String> = ["/v1/completions", "/completions", "/completion"]
    static let embeddingPaths: Set<String> = ["/v1/embeddings"]

    /// The plan llama-server's answer to `request` follows, `uptime` after start.
    public func plan(for request: RequestContext, uptime: Duration) -> ResponsePlan {
        let method = request.method.uppercased()
        let state = health.state(at: uptime, timeScale: timeScale)
        if Self.healthPaths.contains(request.path), method == "GET" || method == "HEAD" {
            return Self.jsonPlan(status: state.status, body: state.responseBody)
        }
        if Self.modelPaths.contains(request.path), method == "GET" || method == "HEAD" {
            return Self.jsonPlan(status: 200, body: Array(modelsBody.utf8))
        }
        if state.isLoadingModel {
            return Self.jsonPlan(status: 503, body: Array(Self.loadingModelBody.utf8))
        }
        let generates = Self.chatPaths.contains(request.path) || Self.completionPaths.contains(request.path)
        guard method == "POST", generates || Self.embeddingPaths.contains(request.path) else {
            return Self.jsonPlan(
                status: 404,
                body: Array(LlamaServerJSON.error(code: 404, message: "File Not Found", type: "not_found_error").utf8)
            )
        }
        guard RequestBody.isValidJSON(request.body) else {
            let message = "[json.exception.parse_error.101] parse error at line 1, column \(request.body.count + 1): "
                + "syntax error while parsing value - invalid literal; the request body is not valid JSON"
            return Self.jsonPlan(
                status: 400,
                body: Array(LlamaServerJSON.error(code: 400, message: message, type: "invalid_request_error").utf8),
                closeConnection: true
            )
        }
        if Self.embeddingPaths.contains(request.path) {
            return Self.jsonPlan(status: 200, body: Array(embeddingsBody(for: request).utf8))
        }
        return generation(for: request)
    }

    /// A generated answer: a token stream, or after the same generation time the whole body.
    func generation(for request: RequestContext) -> ResponsePlan {
        var count = defaultTokenCount
        if let requested = RequestBody.maxTokens(request.body), requested > 0 { count = min(requested, 4096) }
        let stream = TokenStream(count: count, perSecond: tokensPerSecond, seed: Self.seed(of: request.body))
        let planner = ResponsePlanner(timeScale: timeScale, model: model, llamaServer: llamaServer)
        if request.stream {
            return planner.plan(ResponseScript(steps: [.tokens(stream), .end(.close)]), for: request)
        }
        let generator = TokenChunkGenerator(
            stream: stream,
            style: TokenChunkGenerator.style(forPath: request.path),
            model: request.model ?? model,
            promptTokens: ResponsePlanner.promptTokens(of: request)
        )
        return Self.jsonPlan(
            status: 200, body: Array(generator.completeBody().utf8),
            at: generator.finishOffset.saturatingScaled(by: timeScale)
        )
    }

    /// `/v1/models` as models.raw: an Ollama-style `models` list and the OpenAI `data` list.
    public var modelsBody: String {
        var ids = [model]
        for id in models where !ids.contains(id) { ids.append(id) }
        let ollama = ids.map { id in
            "{\"name\":\(LlamaServerJSON.quote(id)),\"model\":\(LlamaServerJSON.quote(id)),\"modified_at\":\"\""
                + ",\"size\":\"\",\"digest\":\"\",\"type\":\"model\",\"description\":\"\",\"tags\":[\"\"]"
                + ",\"capabilities\":[\"completion\"],\"parameters\":\"\",\"details\":{\"parent_model\":\"\""
                + ",\"format\":\"gguf\",\"family\":\"\",\"families\":[\"\"],\"parameter_size\":\"\""
                + ",\"quantization_level\":\"\"}}"
        }
        let openAI = ids.map { id in
            "{\"id\":\(LlamaServerJSON.quote(id)),\"aliases\":[\(LlamaServerJSON.quote(id))],\"tags\":[]"
                + ",\"object\":\"model\",\"architecture\":{\"input_modalities\":[\"text\"]"
                + ",\"output_modalities\":[\"text\"]},\"created\":\(TokenChunkGenerator.baseCreated)"
                + ",\"owned_by\":\"llamacpp\",\"meta\":{\"vocab_type\":1,\"n_vocab\":32000,\"n_ctx\":1024"
                + ",\"n_ctx_train\":2048,\"n_embd\":64,\"n_params\":4202816,\"size\":16811264,\"ftype\":\"all F32\"}}"
        }
        return "{\"models\":[\(ollama.joined(separator: ","))],\"object\":\"list\",\"data\":[\(openAI.joined(separator: ","))]}"
    }

    /// `/v1/embeddings` in llama-server's OpenAI shape: `model`, `object`, `usage`, `data` (one unit vector of
    /// 64 floats per input, from a seed derived from the body).
    func embeddingsBody(for request: RequestContext) -> String {
        var random = SplitMix64(seed: Self.seed(of: request.body))
        let inputs = RequestBody.embeddingInputs(request.body)
        let data = (0..<inputs).map { index in
            let raw = (0..<64).map { _ in random.nextUnit() * 2 - 1 }
            let norm = max(raw.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-9)
            let values = raw.map { String(Float($0 / norm)) }.joined(separator: ",")
            return "{\"embedding\":[\(values)],\"index\":\(index),\"object\":\"embedding\"}"
        }
        let tokens = ResponsePlanner.promptTokens(of: request)
        return "{\"model\":\(LlamaServerJSON.quote(request.model ?? model)),\"object\":\"list\""
            + ",\"usage\":{\"prompt_tokens\":\(tokens),\"total_tokens\":\(tokens)}"
            + ",\"data\":[\(data.joined(separator: ","))]}"
    }

    /// A JSON answer with llama-server's headers (chat_nonstream.raw, or error_bad_json.raw with
    /// `closeConnection`): head, then body, both `at` the given (already scaled) offset.
    public static func jsonPlan(
        status: Int,
        body: [UInt8],
        closeConnection: Bool = false,
        at offset: Duration = .zero
    ) -> ResponsePlan {
        var headers = [
            HTTPWire.serverHeader, HTTPWire.corsHeader,
            HeaderField("Content-Type", "application/json; charset=utf-8"),
            HeaderField("Content-Length", String(body.count)),
        ]
        headers.append(closeConnection ? HeaderField("Connection", "close") : HTTPWire.keepAliveHeader)
        let head = ResponseHead(
            status: status, headers: headers, framing: .contentLength(declared: nil), automaticHeaders: false
        )
        var actions = [TimedAction(at: offset, .write(HTTPWire.headBytes(head, bodyLength: body.count)))]
        if !body.isEmpty { actions.append(TimedAction(at: offset, .write(body))) }
        actions.append(TimedAction(at: offset, .end(closeConnection ? .close : .clean)))
        return ResponsePlan(actions: actions)
    }

    /// FNV-1a of the body: different requests get different ids and words, the same request the same ones.
    static func seed(of body: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in body {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
