import Foundation
import Testing

@testable import FakeUpstream

private let scenario = Scenario(name: "defaults", description: "llama-server defaults")
private let defaults = LlamaServerDefaults(scenario: scenario)

private func post(_ path: String, _ body: String) -> RequestContext {
    RequestContext(method: "POST", uri: path, headers: [HeaderField("Content-Type", "application/json")],
                   body: Array(body.utf8))
}

private func get(_ path: String) -> RequestContext {
    RequestContext(method: "GET", uri: path, headers: [], body: [])
}

/// The same SSE stream shape: head lines, chunk count, events per chunk, JSON keys per event, and framing.
private func expectSameStreamShape(_ plan: ResponsePlan, as captureName: String) throws {
    let reference = try RawResponse(try fixture(captureName))
    let response = try RawResponse(plan.allBytes)
    #expect(response.statusLine == reference.statusLine)
    #expect(response.headerLines == reference.headerLines)
    let ours = try #require(response.chunks)
    let theirs = try #require(reference.chunks)
    #expect(ours.count == theirs.count)
    #expect(ours.map { ssePayloads($0).count } == theirs.map { ssePayloads($0).count })
    for (mine, real) in zip(ours, theirs) {
        let mineEvents = ssePayloads(mine)
        let realEvents = ssePayloads(real)
        #expect(String(decoding: mine.suffix(2), as: UTF8.self) == "\n\n")
        for (a, b) in zip(mineEvents, realEvents) where b != "[DONE]" {
            #expect(try jsonKeyPaths(a) == jsonKeyPaths(b))
        }
    }
    #expect(ssePayloads(ours[ours.count - 1]) == ["[DONE]"])
    #expect(response.terminated == reference.terminated)
    // Every body write is exactly one chunk; the head is its own write.
    #expect(plan.writes.count == 1 + ours.count + 1)
    #expect(try RawResponse(plan.writes[0]).body.isEmpty)
}

@Suite struct DefaultsTests {
    @Test func chatStreamHasTheShapeOfTheReference() throws {
        let plan = defaults.plan(for: post("/v1/chat/completions", #"{"model":"tiny-random-llama","stream":true,"messages":[]}"#), uptime: .zero)
        try expectSameStreamShape(plan, as: "chat_stream.raw")
        let chunks = try #require(try RawResponse(plan.allBytes).chunks)
        #expect(ssePayloads(chunks[0]).count == 2)
        #expect(try jsonKeyPaths(ssePayloads(chunks[chunks.count - 2])[0]).contains("timings.predicted_per_second"))
        // llama-server closes after a stream while advertising keep-alive.
        #expect(plan.ending == .close)
    }

    @Test func chatStreamWithIncludeUsageHasTheShapeOfTheReference() throws {
        let body = #"{"stream":true,"max_tokens":8,"stream_options":{"include_usage":true},"messages":[]}"#
        try expectSameStreamShape(defaults.plan(for: post("/v1/chat/completions", body), uptime: .zero),
                                  as: "chat_stream_include_usage.raw")
    }

    @Test func completionsStreamHasTheShapeOfTheReference() throws {
        let body = #"{"stream":true,"max_tokens":4,"prompt":"hi"}"#
        let plan = defaults.plan(for: post("/v1/completions", body), uptime: .zero)
        try expectSameStreamShape(plan, as: "completions_stream.raw")
        #expect(plan.ending == .close)
    }

    @Test func chatNonStreamHasTheHeadersAndKeysOfTheReference() throws {
        let plan = defaults.plan(for: post("/v1/chat/completions", #"{"messages":[]}"#), uptime: .zero)
        let reference = try RawResponse(try fixture("chat_nonstream.raw"))
        let response = try RawResponse(plan.allBytes)
        #expect(response.statusLine == reference.statusLine)
        #expect(response.headerLinesIgnoringLength == reference.headerLinesIgnoringLength)
        #expect(response.headerLines.contains("Content-Length: \(response.body.count)"))
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(try jsonKeyPaths(text) == jsonKeyPaths(String(decoding: reference.body, as: UTF8.self)))
        #expect(plan.ending == .clean)
    }

    @Test func nonStreamAnswerComesAfterTheGenerationTime() {
        let plan = LlamaServerDefaults(scenario: scenario, timeScale: 0.5, tokensPerSecond: 10)
            .plan(for: post("/v1/chat/completions", #"{"max_tokens":11}"#), uptime: .zero)
        #expect(plan.actions.allSatisfy { $0.at == .milliseconds(500) })
    }

    @Test func sameRequestSameBytesOtherRequestOtherId() throws {
        let a = post("/v1/chat/completions", #"{"stream":true,"messages":[{"role":"user","content":"a"}]}"#)
        let b = post("/v1/chat/completions", #"{"stream":true,"messages":[{"role":"user","content":"b"}]}"#)
        #expect(defaults.plan(for: a, uptime: .zero) == defaults.plan(for: a, uptime: .zero))
        func id(_ request: RequestContext) throws -> String {
            let text = String(decoding: defaults.plan(for: request, uptime: .zero).allBytes, as: UTF8.self)
            let start = try #require(text.firstRange(of: "chatcmpl-"))
            return String(text[start.lowerBound...].prefix(41))
        }
        #expect(try id(a).count == 41)
        #expect(try id(a) != id(b))
    }

    @Test func maxTokensSetsTheTokenCount() throws {
        let plan = defaults.plan(for: post("/v1/chat/completions", #"{"stream":true,"max_tokens":3}"#), uptime: .zero)
        let chunks = try #require(try RawResponse(plan.allBytes).chunks)
        #expect(chunks.count == 3 + 2)
    }

    @Test func badJSONIsA400LikeTheReferenceAndCloses() throws {
        let plan = defaults.plan(for: post("/v1/chat/completions", #"{"messages": [{"role":"#), uptime: .zero)
        let reference = try RawResponse(try fixture("error_bad_json.raw"))
        let response = try RawResponse(plan.allBytes)
        #expect(response.statusLine == reference.statusLine)
        #expect(response.headerLinesIgnoringLength == reference.headerLinesIgnoringLength)
        #expect(try jsonKeyPaths(String(decoding: response.body, as: UTF8.self))
            == jsonKeyPaths(String(decoding: reference.body, as: UTF8.self)))
        #expect(String(decoding: response.body, as: UTF8.self).contains("\"type\":\"invalid_request_error\""))
        #expect(plan.ending == .close)
    }

    @Test func healthAndModelsMatchTheReference() throws {
        for (path, capture) in [("/health", "health.raw"), ("/v1/models", "models.raw"), ("/models", "models.raw")] {
            let reference = try RawResponse(try fixture(capture))
            let response = try RawResponse(defaults.plan(for: get(path), uptime: .zero).allBytes)
            #expect(response.statusLine == reference.statusLine)
            #expect(response.headerLinesIgnoringLength == reference.headerLinesIgnoringLength)
            #expect(try jsonKeyPaths(String(decoding: response.body, as: UTF8.self))
                == jsonKeyPaths(String(decoding: reference.body, as: UTF8.self)))
        }
        let health = try RawResponse(defaults.plan(for: get("/health"), uptime: .zero).allBytes)
        #expect(health.body == Array(#"{"status":"ok"}"#.utf8))
    }

    @Test func modelsListTheScenariosModelAndModels() throws {
        let many = LlamaServerDefaults(scenario: Scenario(name: "m", description: "d", model: "a", models: ["b", "c"]))
        let response = try RawResponse(many.plan(for: get("/v1/models"), uptime: .zero).allBytes)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let ids = (object["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids == ["a", "b", "c"])
    }

    @Test(arguments: ["/nope", "/v1/chat/completion", "/"])
    func unknownPathsGetLlamaServers404(path: String) throws {
        let response = try RawResponse(defaults.plan(for: post(path, "{}"), uptime: .zero).allBytes)
        #expect(response.statusLine == "HTTP/1.1 404 Not Found")
        #expect(String(decoding: response.body, as: UTF8.self)
            == #"{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}"#)
    }

    @Test func embeddingsHaveTheOpenAIShape() throws {
        let plan = defaults.plan(for: post("/v1/embeddings", #"{"model":"e","input":["a","b"]}"#), uptime: .zero)
        let response = try RawResponse(plan.allBytes)
        let text = String(decoding: response.body, as: UTF8.self)
        let keys = try jsonKeyPaths(text)
        #expect(Array(keys.prefix(6)) == ["model", "object", "usage", "usage.prompt_tokens", "usage.total_tokens", "data"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let data = try #require(object["data"] as? [[String: Any]])
        #expect(data.count == 2)
        #expect((data[0]["embedding"] as? [Double])?.count == 64)
        #expect(object["model"] as? String == "e")
    }

    @Test func nativeCompletionNonStreamIsTheFinalResult() throws {
        let response = try RawResponse(defaults.plan(for: post("/completion", #"{"prompt":"x","n_predict":5}"#), uptime: .zero).allBytes)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["stop"] as? Bool == true)
        #expect(object["tokens_predicted"] as? Int == 5)
        #expect(!(object["content"] as? String ?? "").isEmpty)
    }

    @Test func whileLoadingEveryEndpointButHealthAndModelsAnswers503() throws {
        let loading = Scenario(
            name: "l", description: "d",
            health: HealthScript(states: [HealthState(status: 503, duration: .seconds(60)), HealthState(status: 200)])
        )
        let defaults = LlamaServerDefaults(scenario: loading)
        let chat = try RawResponse(defaults.plan(for: post("/v1/chat/completions", "{}"), uptime: .seconds(1)).allBytes)
        #expect(chat.statusLine == "HTTP/1.1 503 Service Unavailable")
        #expect(chat.body == Array(LlamaServerDefaults.loadingModelBody.utf8))
        let models = try RawResponse(defaults.plan(for: get("/v1/models"), uptime: .seconds(1)).allBytes)
        #expect(models.statusLine == "HTTP/1.1 200 OK")
        let ready = try RawResponse(defaults.plan(for: post("/v1/chat/completions", "{}"), uptime: .seconds(61)).allBytes)
        #expect(ready.statusLine == "HTTP/1.1 200 OK")
    }
}
