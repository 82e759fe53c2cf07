import Foundation
import Testing

@testable import FakeUpstream

private func request(_ path: String, model: String? = nil, body: String = "") -> RequestContext {
    RequestContext(method: "POST", path: path, body: Array(body.utf8), model: model, stream: true)
}

private func plan(_ stream: TokenStream, path: String = "/v1/chat/completions", scale: Double = 1,
                  model: String? = nil, body: String = "") -> ResponsePlan {
    ResponsePlanner(timeScale: scale, model: "scenario-model")
        .plan(ResponseScript(steps: [.tokens(stream)]), for: request(path, model: model, body: body))
}

@Suite struct TokenStreamTests {
    @Test func tokenIArrivesAtFirstTokenAfterPlusIOverPerSecond() {
        let stream = TokenStream(count: 5, perSecond: 10, firstTokenAfter: .seconds(2))
        let offsets = TokenChunkGenerator(stream: stream, style: .chat, model: "m").tokenOffsets
        #expect(offsets == [2000, 2100, 2200, 2300, 2400].map { Duration.milliseconds($0) })
    }

    @Test func planScalesTokenTimesAndFollowsWithDoneAtTheEnd() {
        let stream = TokenStream(count: 4, perSecond: 20, firstTokenAfter: .seconds(1))
        let result = plan(stream, scale: 0.5)
        // head, 4 token writes, finish chunk, [DONE], terminator, end
        #expect(result.actions.map(\.at) == [
            .milliseconds(500), .milliseconds(500), .milliseconds(525), .milliseconds(550), .milliseconds(575),
            .milliseconds(575), .milliseconds(575), .milliseconds(575), .milliseconds(575),
        ])
        #expect(result.writeTexts[6] == "e\r\ndata: [DONE]\n\n\r\n")
    }

    @Test func stepsAfterTokensContinueFromTheLastToken() {
        let stream = TokenStream(count: 3, perSecond: 10)
        let result = ResponsePlanner().plan(
            ResponseScript(steps: [.tokens(stream), .wait(.seconds(1)), .write(Array("x".utf8)), .end(.fin)]),
            for: request("/v1/chat/completions")
        )
        #expect(result.actions[result.actions.count - 2].at == .milliseconds(1200))
    }

    @Test func sameSeedSamePlanOtherSeedOtherJitter() {
        let a = TokenStream(count: 30, perSecond: 50, jitter: 0.3, seed: 7)
        var b = a
        b.seed = 8
        #expect(plan(a) == plan(a))
        let offsetsA = TokenChunkGenerator(stream: a, style: .chat, model: "m").tokenOffsets
        let offsetsB = TokenChunkGenerator(stream: b, style: .chat, model: "m").tokenOffsets
        #expect(offsetsA != offsetsB)
    }

    @Test(arguments: [0.1, 0.5, 0.9])
    func jitterStaysWithinItsBounds(jitter: Double) {
        let stream = TokenStream(count: 200, perSecond: 100, jitter: jitter, seed: 42)
        let offsets = TokenChunkGenerator(stream: stream, style: .chat, model: "m").tokenOffsets
        let intervals = zip(offsets.dropFirst(), offsets).map { ($0 - $1).seconds }
        let low = 0.01 * (1 - jitter) - 1e-9
        let high = 0.01 * (1 + jitter) + 1e-9
        #expect(intervals.allSatisfy { $0 >= low && $0 <= high })
        #expect(Set(intervals.map { ($0 * 1e9).rounded() }).count > 1)
    }

    @Test func idIsChatcmplAnd32AlphanumericsFromTheSeed() {
        let generator = TokenChunkGenerator(stream: TokenStream(count: 1, seed: 99), style: .chat, model: "m")
        let id = generator.completionID
        #expect(id.hasPrefix("chatcmpl-"))
        let suffix = id.dropFirst("chatcmpl-".count)
        #expect(suffix.count == 32)
        #expect(suffix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(TokenChunkGenerator(stream: TokenStream(count: 1, seed: 99), style: .chat, model: "m").completionID == id)
        #expect(TokenChunkGenerator(stream: TokenStream(count: 1, seed: 98), style: .chat, model: "m").completionID != id)
    }

    @Test func modelIsTheRequestsElseTheScenarios() throws {
        let named = try JSONSerialization.jsonObject(
            with: Data(ssePayloads(try chunks(plan(TokenStream(count: 1), model: "asked"))[0])[0].utf8)
        ) as? [String: Any]
        #expect(named?["model"] as? String == "asked")
        let unnamed = try JSONSerialization.jsonObject(
            with: Data(ssePayloads(try chunks(plan(TokenStream(count: 1)))[0])[0].utf8)
        ) as? [String: Any]
        #expect(unnamed?["model"] as? String == "scenario-model")
    }

    @Test func wordsComeFromTheGivenList() throws {
        let stream = TokenStream(count: 10, words: ["A", "B"])
        let texts = TokenChunkGenerator(stream: stream, style: .chat, model: "m").tokenTexts
        #expect(texts.count == 10)
        #expect(Set(texts).isSubset(of: ["A", "B"]))
    }

    @Test func styleFollowsThePathUnlessGiven() throws {
        let completion = try chunks(plan(TokenStream(count: 2), path: "/v1/completions"))
        #expect(ssePayloads(completion[0])[0].contains("\"object\":\"text_completion\""))
        let native = try chunks(plan(TokenStream(count: 2), path: "/completion"))
        #expect(ssePayloads(native[0])[0].hasPrefix("{\"index\":0,\"content\":"))
        let forced = try chunks(plan(TokenStream(count: 2, style: .chat), path: "/completion"))
        #expect(ssePayloads(forced[0])[0].contains("chat.completion.chunk"))
    }

    @Test func nativeStreamEndsWithStopTrueAndNoDone() throws {
        let all = try chunks(plan(TokenStream(count: 3), path: "/completion"))
        #expect(all.count == 4)
        let keys = try jsonKeyPaths(ssePayloads(all[0])[0])
        #expect(keys == ["index", "content", "tokens", "stop", "id_slot", "tokens_predicted", "tokens_evaluated"])
        let last = ssePayloads(all[3])[0]
        #expect(last.contains("\"stop\":true"))
        #expect(try jsonKeyPaths(last).contains("timings.predicted_per_second"))
        #expect(!all.contains { String(decoding: $0, as: UTF8.self).contains("[DONE]") })
    }

    @Test func withoutFinishThereIsNoFinalChunkOrDone() throws {
        let all = try chunks(plan(TokenStream(count: 3, finish: false)))
        #expect(all.count == 3)
        #expect(!all.contains { String(decoding: $0, as: UTF8.self).contains("finish_reason\":\"length") })
    }

    @Test func timingsReflectThePlannedGeneration() throws {
        let stream = TokenStream(count: 11, perSecond: 10, firstTokenAfter: .milliseconds(250))
        let all = try chunks(plan(stream))
        let finish = try #require(ssePayloads(all[all.count - 2]).first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(finish.utf8)) as? [String: Any])
        let timings = try #require(object["timings"] as? [String: Any])
        #expect((timings["predicted_ms"] as? Double).map { abs($0 - 1100) < 1e-6 } == true)
        #expect((timings["predicted_per_second"] as? Double).map { abs($0 - 10) < 1e-6 } == true)
        #expect((timings["prompt_ms"] as? Double).map { abs($0 - 250) < 1e-6 } == true)
        #expect(timings["predicted_n"] as? Int == 11)
    }

    @Test func absurdRatesSaturateInsteadOfTrapping() {
        let glacial = TokenStream(count: 3, perSecond: 1e-12, firstTokenAfter: .seconds(5))
        let offsets = TokenChunkGenerator(stream: glacial, style: .chat, model: "m").tokenOffsets
        #expect(offsets.first == .seconds(5))
        #expect(offsets.last == Duration.planHorizon)
        let plan = ResponsePlanner(timeScale: 1e12).plan(
            ResponseScript(steps: [.wait(.seconds(1_000_000)), .tokens(glacial)]), for: request("/v1/chat/completions")
        )
        #expect(plan.actions.allSatisfy { $0.at <= Duration.planHorizon })
        #expect(plan.ending == .clean)
    }

    private func chunks(_ plan: ResponsePlan) throws -> [[UInt8]] {
        try #require(try RawResponse(plan.allBytes).chunks)
    }
}
