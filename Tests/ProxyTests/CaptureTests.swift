import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Proxy

/// Captures: what the proxy keeps of a request and the upstream's answer, bounded, with secrets redacted on every
/// way out (JSON and the exported scenario file).
@Suite struct CaptureTests {
    static let secrets = ["sk-live-secret", "key-123", "session=abc", "cookie-value-9"]

    /// A request with credentials and an answer that sets a cookie: the capture shows the request, the upstream's
    /// head and each read at its time, with Authorization (scheme kept), x-api-key, Cookie and Set-Cookie redacted.
    @Test func theCaptureIsRedacted() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1))
        let body = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}"
        try rig.client.writeInbound(
            ByteBuffer(
                string: "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer sk-live-secret\r\n"
                    + "x-api-key: key-123\r\nCookie: session=abc\r\nX-Request-Id: cap1\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"))
        rig.advance(to: .milliseconds(100))
        try rig.upstreamWrites(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nSet-Cookie: cookie-value-9\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")
        rig.advance(to: .milliseconds(250))
        try rig.upstreamChunk("data: {\"n\":1}\n\n")
        rig.advance(to: .milliseconds(400))
        try rig.upstreamChunk("data: [DONE]\n\n")
        try rig.upstreamEnds()
        #expect(try rig.response().status == 200)

        let raw = try rig.adminGet("/api/captures/cap1")
        let text = String(decoding: raw.body, as: UTF8.self)
        for secret in Self.secrets { #expect(!text.contains(secret), "\(secret) leaked") }
        let capture = try rig.adminJSON("/api/captures/cap1")
        let request = try #require(capture["request"] as? [String: Any])
        #expect(request["method"] as? String == "POST" && request["uri"] as? String == "/v1/chat/completions")
        #expect(request["body"] as? String == body)
        let headers = (request["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        #expect(headers.first { $0.0 == "authorization" }?.1 == "Bearer [redacted]")
        #expect(headers.first { $0.0 == "x-api-key" }?.1 == "[redacted]")
        #expect(headers.first { $0.0 == "cookie" }?.1 == "[redacted]")
        let response = try #require(capture["response"] as? [String: Any])
        #expect(response["status"] as? Int == 200)
        #expect((response["headers"] as? [[String]])?.first { $0[0].lowercased() == "set-cookie" }?[1] == "[redacted]")
        let chunks = (response["chunks"] as? [[String: Any]] ?? []).map {
            (($0["t"] as? NSNumber)?.doubleValue ?? -1, $0["text"] as? String ?? "")
        }
        #expect(chunks.map(\.0) == [250, 400])
        #expect(chunks.map(\.1) == ["data: {\"n\":1}\n\n", "data: [DONE]\n\n"])

        let scenario = try rig.adminGet("/api/captures/cap1/scenario")
        #expect(scenario.status == 200)
        #expect(scenario.headers.first { $0.name.lowercased() == "content-disposition" }?.value == "attachment; filename=\"cap1.yaml\"")
        #expect(scenario.headers.first { $0.name.lowercased() == "content-type" }?.value.hasPrefix("text/yaml") == true)
        let yaml = String(decoding: scenario.body, as: UTF8.self)
        for secret in Self.secrets { #expect(!yaml.contains(secret), "\(secret) leaked into the scenario") }
        #expect(yaml.contains("framing: raw"))
        // The head at 100 ms, then each read after its gap, re-chunked as the upstream sent it, then the close.
        #expect(yaml.contains("- wait: 100.000ms\n      - status: 200"))
        #expect(yaml.contains("- wait: 150.000ms\n      - write: \"f\\r\\ndata: {\\\"n\\\":1}\\n\\n\\r\\n\""))
        #expect(yaml.contains("- end: close"))
    }

    /// A capture holds at most its limit: the request body and the reads are cut there, and it says so. Of a body
    /// over the limit it copies at most a tenth (memory per body in flight stays within 1.1× the body).
    @Test(arguments: [(0, 0), (60, 60), (100, 100), (101, 10), (500, 50), (1000, 100), (5000, 100)])
    func requestBodyKept(length: Int, kept: Int) {
        #expect(RequestCapture.requestBodyBytesKept(of: length, limit: 100) == kept)
    }

    /// A capture holds at most its limit: the request body and the reads are cut there, and it says so.
    @Test func aCaptureIsBounded() {
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/completions")
        var capture = RequestCapture(head: head, body: ByteBuffer(string: String(repeating: "b", count: 60)), limit: 100)
        #expect(capture.requestBody.count == 60 && !capture.truncated)
        capture.upstreamBody(Array(repeating: UInt8(ascii: "x"), count: 30), at: .milliseconds(1))
        capture.upstreamBody(Array(repeating: UInt8(ascii: "y"), count: 30), at: .milliseconds(2))
        capture.upstreamBody(Array(repeating: UInt8(ascii: "z"), count: 30), at: .milliseconds(3))
        #expect(capture.size == 100 && capture.truncated)
        #expect(capture.reads.map(\.bytes.count) == [30, 10])
        let big = RequestCapture(head: head, body: ByteBuffer(string: String(repeating: "b", count: 500)), limit: 100)
        #expect(big.requestBody.count == 50 && big.truncated && big.requestBodyLength == 500, "a tenth of it")
        let huge = RequestCapture(head: head, body: ByteBuffer(string: String(repeating: "b", count: 5000)), limit: 100)
        #expect(huge.requestBody.count == 100 && huge.truncated && huge.requestBodyLength == 5000)
        #expect(big.json(id: "x").contains("\"truncated\":true"))
    }

    /// A record that leaves the ring leaves the capture budget too, and is freed: small answers (a 2-byte `OK`) used to
    /// let a 4 MiB budget keep millions of records, about 4 KB of RSS per request through the proxy.
    @Test func recordsLeavingTheRingAreFreed() throws {
        let loop = EmbeddedEventLoop()
        let store = ActivityStore(capacity: 3, captureBudget: 4 * 1024 * 1024, captureLimit: 1024)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/upstream/m/health")
        weak var first: LiveRequest?
        for index in 0..<50 {
            let request = store.begin(
                id: "r\(index)", model: "m", route: "/upstream/*", head: head, body: ByteBuffer(), streaming: false,
                arrival: loop.now, eventLoop: loop)
            request.relayObserved(.upstreamPart(.body(ByteBuffer(string: "OK"))))
            if index == 0 { first = request }
            store.finished(request)
        }
        #expect(store.capturedCount <= 3, "captures kept only for the rows the ring still has")
        #expect(store.capturedBytes == 3 * 2)
        #expect(first == nil, "the first record was freed once the ring dropped it")
        #expect(store.request(id: "r49")?.captureJSON() != nil)
        try loop.syncShutdownGracefully()
    }

    /// Requests finishing out of order (the oldest still in flight while newer ones finish): a record leaving the
    /// ring behind a live capture leaves a tombstone, removed once the captures before it go; the list stays within
    /// the ring's size plus the requests in flight, and the bytes count only live captures.
    @Test func outOfOrderFinishesKeepTheCaptureListBounded() throws {
        let loop = EmbeddedEventLoop()
        let store = ActivityStore(capacity: 4, captureBudget: 4 * 1024 * 1024, captureLimit: 1024)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/upstream/m/health")
        var inFlight: [LiveRequest] = []
        weak var early: LiveRequest?
        for index in 0..<200 {
            let request = store.begin(
                id: "r\(index)", model: "m", route: "/upstream/*", head: head, body: ByteBuffer(), streaming: false,
                arrival: loop.now, eventLoop: loop)
            request.relayObserved(.upstreamPart(.body(ByteBuffer(string: "OK"))))
            if index == 1 { early = request }
            inFlight.append(request)
            if inFlight.count == 3 {
                // The newest finishes first, then the oldest, then the middle one.
                for position in [2, 0, 1] { store.finished(inFlight[position]) }
                inFlight.removeAll()
            }
            #expect(store.capturedEntries <= 4 + 3, "tombstones pile up: \(store.capturedEntries) entries")
            #expect(store.capturedBytes == 2 * store.capturedCount)
        }
        #expect(store.capturedCount <= 4)
        #expect(early == nil, "a record that left the ring is freed")
        try loop.syncShutdownGracefully()
    }

    /// The store keeps the newest `capacity` requests; finished captures share one byte budget, oldest dropped
    /// first (their rows stay).
    @Test func theStoreIsARingWithACaptureBudget() throws {
        let loop = EmbeddedEventLoop()
        let store = ActivityStore(capacity: 3, captureBudget: 250, captureLimit: 100)
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/completions")
        var requests: [LiveRequest] = []
        for index in 0..<5 {
            let request = store.begin(
                id: "r\(index)", model: "m", route: "/v1/completions", head: head,
                body: ByteBuffer(string: String(repeating: "b", count: 80)), streaming: false, arrival: loop.now,
                eventLoop: loop)
            requests.append(request)
            store.finished(request)
        }
        #expect(store.recent(limit: 10).map(\.id) == ["r4", "r3", "r2"])
        #expect(store.recent(limit: 2).map(\.id) == ["r4", "r3"])
        #expect(store.request(id: "r0") == nil && store.request(id: "r2") != nil)
        #expect(store.capturedBytes <= 250)
        #expect(requests[4].captureJSON() != nil && requests[3].captureJSON() != nil)
        #expect(requests[1].captureJSON() == nil, "dropped to stay within the budget")
        try loop.syncShutdownGracefully()
    }
}
