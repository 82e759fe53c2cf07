import Foundation
import NIOCore
import SeededRandom
import Testing

@testable import Proxy

@Suite struct RequestSnifferTests {
    @Test(arguments: [
        ("{\"model\":\"a\",\"stream\":true}", nil as String?, "a" as String?, true),
        ("  \n{\"stream\":false,\"model\":\"b\"}", "text/plain", "b", false),
        ("{\"messages\":[]}", nil, nil, false),
        ("{\"model\":\"c\"}", nil, "c", false),
    ])
    func jsonBodyRegardlessOfContentType(body: String, contentType: String?, model: String?, stream: Bool) {
        let result = RequestSniffer.sniff(body: Array(body.utf8), contentType: contentType, query: nil)
        #expect(result.model == model)
        #expect(result.stream == stream)
        #expect(!result.malformedJSON)
    }

    @Test func queryParametersFillTheGaps() {
        let result = RequestSniffer.sniff(body: [], contentType: nil, query: "model=qwen%2B7b&stream=true")
        #expect(result.model == "qwen+7b")
        #expect(result.stream)
    }

    @Test func bodyModelWinsOverQuery() {
        let result = RequestSniffer.sniff(body: Array("{\"model\":\"body\"}".utf8), contentType: nil, query: "model=q")
        #expect(result.model == "body")
    }

    @Test func truncatedJSONIsReportedNotGuessed() {
        let result = RequestSniffer.sniff(body: Array("{\"model\":\"a\",".utf8), contentType: "application/json", query: nil)
        #expect(result.malformedJSON)
        #expect(result.model == nil)
    }

    @Test func multipartFieldModel() {
        let body = [
            "--XyZ", "Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"", "Content-Type: audio/wav", "",
            "RIFF....", "--XyZ", "Content-Disposition: form-data; name=\"model\"", "", "whisper-large", "--XyZ--", "",
        ].joined(separator: "\r\n")
        let result = RequestSniffer.sniff(
            body: Array(body.utf8), contentType: "multipart/form-data; boundary=\"XyZ\"", query: nil)
        #expect(result.model == "whisper-large")
    }

    /// The sniffer's answers equal what the proxy read with JSONSerialization before it scanned bytes, for bodies
    /// with `model` and `stream` anywhere, spelled with escapes, and their names inside nested values and strings.
    @Test(arguments: [1, 2, 3, 99] as [UInt64])
    func answersLikeJSONSerialization(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let fillers = [
            "\"messages\":[{\"role\":\"user\",\"content\":\"say \\\"model\\\": \\\"x\\\", stream: true\"}]",
            "\"n\":{\"model\":\"nested\",\"stream\":true}", "\"t\":12345678901234567890.5e-3",
            "\"l\":[\"model\",{\"stream\":false}]", "\"caf\\u00e9\":\"\\ud83d\\ude00\"",
        ]
        let models = ["\"m\"", "\"caf\\u00e9/q4\"", "\"a\\\"b\"", "\"\"", "7", "null", "{\"model\":\"x\"}"]
        let modelKeys = ["\"model\"", "\"mo\\u0064el\"", "\"Model\""]
        let streams = ["true", "false", "\"true\"", "null", "[true]"]
        for _ in 0..<200 {
            var members = fillers.filter { _ in random.chance(50) }
            if random.chance(80) { members.append(random.pick(modelKeys) + " : " + random.pick(models)) }
            if random.chance(70) { members.append("\"stream\":" + random.pick(streams)) }
            members.shuffle(using: &random)
            let body = Array(("{ " + members.joined(separator: ",\n") + " }").utf8)
            let result = RequestSniffer.sniff(body: body, contentType: "application/json", query: nil)
            let object = try #require((try JSONSerialization.jsonObject(with: Data(body))) as? [String: Any])
            let label = String(decoding: body, as: UTF8.self)
            #expect(result.model == object["model"] as? String, "\(label)")
            #expect(result.stream == (object["stream"] as? Bool ?? false), "\(label)")
            #expect(!result.malformedJSON)
        }
    }

    /// The sniffer reads the one body buffer in place: a ByteBuffer with a reader index past zero (a slice) works.
    @Test func readsAByteBufferInPlace() {
        var buffer = ByteBuffer(string: "xxxx{\"stream\":true,\"model\":\"m\"}")
        buffer.moveReaderIndex(forwardBy: 4)
        let result = RequestSniffer.sniff(body: buffer, contentType: nil, query: nil)
        #expect(result.model == "m" && result.stream && !result.malformedJSON)
    }

    /// The sniffer stops after `model` and `stream`: what follows them is the upstream's to judge (llama-swap does not
    /// read it either); invalid JSON before them is refused.
    @Test(arguments: [
        ("{\"model\":\"m\",\"stream\":true,\"x\": oops", false),
        ("{\"model\":\"m\",\"x\": oops,\"stream\":true}", true),
        ("{\"model\":\"m\",\"x\":1", true),
        ("{\"model\":\"caf\\ud800\"}", true),
        ("{\"model\":\"m\"} trailing", true),
    ])
    func invalidJSONThatIsRead(body: String, malformed: Bool) {
        let result = RequestSniffer.sniff(body: Array(body.utf8), contentType: nil, query: nil)
        #expect(result.malformedJSON == malformed)
        #expect(result.model == (malformed ? nil : "m"))
    }

    @Test(arguments: [[UInt8](), [0xFF, 0xFE, 0x00], Array("{".utf8), Array("--b\r\n".utf8)])
    func garbageNeverCrashes(body: [UInt8]) {
        let result = RequestSniffer.sniff(body: body, contentType: "multipart/form-data; boundary=b", query: "=&&=x")
        #expect(result.model == nil)
    }
}

