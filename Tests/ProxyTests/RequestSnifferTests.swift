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

    @Test(arguments: [[UInt8](), [0xFF, 0xFE, 0x00], Array("{".utf8), Array("--b\r\n".utf8)])
    func garbageNeverCrashes(body: [UInt8]) {
        let result = RequestSniffer.sniff(body: body, contentType: "multipart/form-data; boundary=b", query: "=&&=x")
        #expect(result.model == nil)
    }
}
