import CoreMetrics
import MetricsTestKit
import Testing

@testable import Proxy

/// Tokens and speeds from llama-server's `timings` (or `usage`), read from the last bytes of the upstream's body
/// only, and reported as metrics with exact values.
@Suite struct TokensTests {
    static func read(_ text: String) -> TokenCounts? { TokenCounts.read(tail: Array(text.utf8)) }

    @Test func timingsOfAStreamsLastEvent() {
        let counts = Self.read(LlamaServerTail.content + LlamaServerTail.final)
        #expect(counts == TokenCounts(promptTokens: 34, completionTokens: 12, promptPerSecond: 673.2, predictedPerSecond: 120.5))
    }

    @Test func timingsAtTheEndOfANonStreamingAnswer() {
        let body = "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":5},"
            + "\"id\":\"c\",\"timings\":{\"prompt_n\":5,\"prompt_per_second\":10.5,\"predicted_n\":3,"
            + "\"predicted_per_second\":2.25,\"predicted_ms\":1333}}"
        #expect(Self.read(body) == TokenCounts(promptTokens: 5, completionTokens: 3, promptPerSecond: 10.5, predictedPerSecond: 2.25))
    }

    /// `timings` wins count by count: `usage` (read wherever it is) gives only what `timings` leaves out.
    @Test(arguments: [
        ("{\"prompt_n\":5,\"predicted_n\":3}", TokenCounts(promptTokens: 5, completionTokens: 3)),
        ("{\"prompt_n\":5}", TokenCounts(promptTokens: 5, completionTokens: 9)),
        ("{\"predicted_n\":3,\"prompt_per_second\":2.5}", TokenCounts(promptTokens: 7, completionTokens: 3, promptPerSecond: 2.5)),
        ("{}", TokenCounts(promptTokens: 7, completionTokens: 9)),
    ])
    func usageFillsOnlyWhatTimingsLeavesOut(timings: String, expected: TokenCounts) {
        let usage = "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":9}"
        #expect(Self.read("{\(usage),\"timings\":\(timings)}") == expected)
        #expect(Self.read("{\"timings\":\(timings),\(usage)}") == expected)
    }

    /// Without `timings` (another OpenAI-compatible server), `usage` gives the counts and no speeds.
    @Test func usageAlone() {
        let body = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":9,\"total_tokens\":16}}\n\n"
        #expect(Self.read(body) == TokenCounts(promptTokens: 7, completionTokens: 9))
    }

    /// `timings` written inside generated text is escaped there, so it is never taken for the member; a `timings`
    /// object missing a wanted key still gives the others (the scanner reads to its end, then the rest of the body
    /// is cut off).
    @Test func textInsideStringsAndMissingKeys() {
        #expect(Self.read(LlamaServerTail.content) == nil)
        let partial = "{\"timings\":{\"prompt_n\":4,\"predicted_n\":2},\"id\":\"z\"}"
        #expect(Self.read(partial) == TokenCounts(promptTokens: 4, completionTokens: 2))
        let laterNull = "data: {\"timings\":{\"prompt_n\":6,\"predicted_n\":1}}\n\ndata: {\"timings\": null}\n\n"
        #expect(Self.read(laterNull) == TokenCounts(promptTokens: 6, completionTokens: 1), "the last member that is an object")
        #expect(Self.read("data: [DONE]\n\n") == nil)
        #expect(Self.read("{\"timings\": \"none\"}") == nil)
    }

    /// The tail keeps the last bytes only: a timings event after a megabyte of text is still read.
    @Test func theTailIsBounded() {
        var tail = TokenTail()
        let filler = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { tail.append(filler) }
        tail.append(Array(LlamaServerTail.final.utf8))
        #expect(tail.bytes.count <= 2 * TokenTail.limit)
        #expect(TokenCounts.read(tail: tail.bytes)?.completionTokens == 12)
        tail.append([UInt8](repeating: 0x20, count: 3 * TokenTail.limit))
        #expect(tail.bytes.count == TokenTail.limit)
    }

    /// One streamed request through the real handler and relay: the token counters move by exactly the answer's
    /// counts and each speed histogram gets exactly its value, under the model's label.
    @Test func tokenMetricsMoveByExactValues() throws {
        let (rig, test) = try MetricsRelayTests.rig(heartbeat: .seconds(1))
        try rig.sendRequest()
        rig.advance(to: .milliseconds(300))
        try rig.upstreamStreamHead()
        try rig.upstreamChunk(LlamaServerTail.content)
        try rig.upstreamChunk(LlamaServerTail.final)
        try rig.upstreamEnds()
        #expect(try rig.response().status == 200)
        typealias Name = ProxyMetrics.Name
        let model = MetricsRelayTests.model
        #expect(test.counterTotal(label: Name.promptTokens, dimensions: model) == 34)
        #expect(test.counterTotal(label: Name.completionTokens, dimensions: model) == 12)
        #expect(try test.expectRecorder(Name.promptSpeed, model).values == [673.2])
        #expect(try test.expectRecorder(Name.predictedSpeed, model).values == [120.5])
    }

    /// Two answers on one connection (the second reuses the handles the first made): the counters add up, and an
    /// answer with `usage` only adds its counts and no speed.
    @Test func tokenMetricsAddUpOverRequests() throws {
        let (rig, test) = try MetricsRelayTests.rig(heartbeat: .seconds(1))
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        try rig.upstreamChunk(LlamaServerTail.final)
        try rig.upstreamEnds()
        #expect(try rig.response().status == 200)
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        try rig.upstreamChunk(
            "data: {\"choices\":[],\"usage\":{\"completion_tokens\":5,\"prompt_tokens\":7}}\n\ndata: [DONE]\n\n")
        try rig.upstreamEnds()
        typealias Name = ProxyMetrics.Name
        let model = MetricsRelayTests.model
        let requests = model + [("route", "/v1/chat/completions"), ("status", "200")]
        #expect(test.counterTotal(label: Name.requests, dimensions: requests) == 2)
        #expect(test.counterTotal(label: Name.promptTokens, dimensions: model) == 34 + 7)
        #expect(test.counterTotal(label: Name.completionTokens, dimensions: model) == 12 + 5)
        #expect(try test.expectRecorder(Name.promptSpeed, model).values == [673.2])
        #expect(try test.expectRecorder(Name.predictedSpeed, model).values == [120.5])
    }

    /// An answer without counts moves nothing.
    @Test func noCountsNoMetrics() throws {
        let (rig, test) = try MetricsRelayTests.rig(heartbeat: .seconds(1))
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: {\"n\":1}\n\ndata: [DONE]\n\n")
        try rig.upstreamEnds()
        #expect(try rig.response().status == 200)
        #expect(test.counters(label: ProxyMetrics.Name.promptTokens).isEmpty)
        #expect(test.recorders.isEmpty)
    }
}
