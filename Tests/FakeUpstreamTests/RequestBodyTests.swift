import Foundation
import Testing

@testable import FakeUpstream

/// The fake's reading of request bodies (``RequestBody``): the fields llama-server acts on, found by one scan, with
/// garbage read as absent, never as a crash or a wrong value.
@Suite struct RequestBodyTests {
    /// A body as the benchmarks post it: a long prompt full of escapes, then the fields after it.
    static func longPrompt(lines: Int, tail: String) -> [UInt8] {
        let line = #"caf\u00e9 \"quoted\" line\n"#
        let prompt = String(repeating: line, count: lines)
        return Array(#"{"model":"m","messages":[{"role":"user","content":"\#(prompt)"}]\#(tail)}"#.utf8)
    }

    @Test func fieldsAfterALongPromptAreRead() {
        let body = Self.longPrompt(
            lines: 20_000,
            tail: #","stream":true,"max_tokens":7,"stream_options":{"include_usage":true},"sse_ping_interval":2.5"#)
        #expect(RequestBody.isValidJSON(body))
        let context = RequestContext(method: "POST", uri: "/v1/chat/completions", headers: [], body: body)
        #expect(context.model == "m")
        #expect(context.stream)
        #expect(RequestBody.maxTokens(body) == 7)
        #expect(RequestBody.includeUsage(body))
        #expect(RequestBody.ssePingInterval(body) == 2.5)
    }

    @Test(arguments: [
        // Not JSON, cut short, trailing bytes, a bad escape inside the prompt: nothing is read from any of them.
        #"{"model":"m","stream":true,"max_tokens":7"#,
        #"{"model":"m","stream":true,"max_tokens":7} x"#,
        #"{"model":"m","stream":true,"max_tokens":7,"content":"a\qb"}"#,
        "not json at all",
        "",
    ])
    func garbageReadsAsAbsent(_ text: String) {
        let body = Array(text.utf8)
        #expect(!RequestBody.isValidJSON(body))
        let context = RequestContext(method: "POST", uri: "/v1/chat/completions", headers: [], body: body)
        #expect(context.model == nil)
        #expect(!context.stream)
        #expect(RequestBody.maxTokens(body) == nil)
        #expect(!RequestBody.includeUsage(body))
        #expect(RequestBody.ssePingInterval(body) == nil)
        #expect(RequestBody.embeddingInputs(body) == 1)
    }

    @Test func valuesOfTheWrongTypeAreAbsent() {
        let body = Array(
            #"{"model":7,"stream":"yes","max_tokens":"9","n_predict":true,"sse_ping_interval":true,"input":"one"}"#.utf8)
        let context = RequestContext(method: "POST", uri: "/v1/chat/completions", headers: [], body: body)
        #expect(context.model == nil)
        #expect(!context.stream)
        #expect(RequestBody.maxTokens(body) == nil)
        #expect(RequestBody.ssePingInterval(body) == nil, "true is not one second")
        #expect(RequestBody.embeddingInputs(body) == 1)
    }

    @Test func llamaServersOrderOfTokenLimitsAndTheFirstOfDuplicates() {
        #expect(RequestBody.maxTokens(Array(#"{"max_tokens":3,"n_predict":5}"#.utf8)) == 5)
        #expect(RequestBody.maxTokens(Array(#"{"max_tokens":3,"max_completion_tokens":4}"#.utf8)) == 4)
        #expect(RequestBody.maxTokens(Array(#"{"max_tokens":3,"max_tokens":9}"#.utf8)) == 3)
        #expect(RequestBody.embeddingInputs(Array(#"{"input":["a","b","c"]}"#.utf8)) == 3)
        #expect(RequestBody.embeddingInputs(Array(#"{"content":["a","b"]}"#.utf8)) == 2)
        #expect(RequestBody.isValidJSON(Array(" [1,2] ".utf8)), "any JSON value, as llama-server parses it")
    }
}
