import Foundation
import Proxy
import Testing
import Wire

/// The in-band error a client receives after the proxy committed `200`: built from whatever the upstream said.
@Suite struct HeartbeatErrorEventTests {
    @Test func longTextBodyIsShortened() {
        let error = OpenAIError(upstreamStatus: 500, body: Array(String(repeating: "x", count: 5000).utf8))
        #expect(error.message.count == 1001)
        #expect(error.message.hasSuffix("…"))
    }

    /// Only the first ``OpenAIError/upstreamErrorBodyLimit`` bytes are read: an envelope longer than that is not
    /// parsed whole (it would be, without the limit) and is reported as shortened text.
    @Test func onlyTheStartOfAHugeBodyIsRead() {
        let message = String(repeating: "a", count: OpenAIError.upstreamErrorBodyLimit + 10)
        let error = OpenAIError(upstreamStatus: 500, body: Array("{\"error\":{\"message\":\"\(message)\"}}".utf8))
        #expect(error.message.hasPrefix("{\"error\""))
        #expect(error.message.count == 1001)
    }

    @Test(arguments: [
        [UInt8]([0xFF, 0xFE, 0x00, 0x41]), [0xC3], Array("[1,2]".utf8), Array("{\"error\":{\"message\":7}}".utf8),
        Array("null".utf8), Array("{\"error\":".utf8),
    ])
    func oddBodiesStillGiveAMessage(body: [UInt8]) throws {
        let error = OpenAIError(upstreamStatus: 502, body: body)
        #expect(!error.message.isEmpty)
        #expect(error.code == 502)
        #expect(error.type == "server_error")
        // The event is one `data:` line of JSON that parses back to the same message.
        let event = error.sseEvent
        #expect(event.hasPrefix("data: ") && event.hasSuffix("\n\n"))
        #expect(event.dropLast(2).split(separator: "\n", omittingEmptySubsequences: false).count == 1)
        let json = try #require(
            JSONSerialization.jsonObject(with: Data(event.dropFirst(6).dropLast(2).utf8)) as? [String: Any]
        )
        #expect((json["error"] as? [String: Any])?["message"] as? String == error.message)
    }

    @Test(arguments: [
        (UpstreamFailure.connectionRefused(model: "qwen", detail: "connection refused"), 502, "refused"),
        (.connectionLost(model: "qwen"), 502, "closed the connection"),
        (.healthCheckTimedOut(model: "qwen", after: .seconds(120)), 504, "120000 ms"),
        (.startFailed(model: "qwen", detail: "exit code 1"), 502, "exit code 1"),
    ])
    func failuresNameTheModelAndCause(failure: UpstreamFailure, status: Int, words: String) {
        let error = failure.openAIError
        #expect(error.code == status)
        #expect(error.type == OpenAIError.type(forStatus: status))
        #expect(error.message.contains("'qwen'"))
        #expect(error.message.contains(words))
    }
}
