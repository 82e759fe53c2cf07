import Foundation
import NIOCore
import NIOHTTP1
import ScenarioWriter
import FakeUpstream

/// One request and the upstream's answer as the proxy saw them, like llama-swap's captures: the request's head and
/// body, the upstream's head, and every upstream body read with its time since the request arrived. Bounded:
/// bytes past ``ActivityStore/captureLimit`` are not kept (`truncated`). Secrets stay in memory only as long as the
/// capture does; every way out (``json(id:)``, the scenario file) redacts them (``HeaderRedaction``).
struct RequestCapture {
    var method: String
    var uri: String
    /// The head's fields as received: NIO's storage, shared, not copied field by field (every request is captured).
    var requestHeaders: HTTPHeaders
    var requestBody: [UInt8]
    var requestBodyLength: Int
    /// The upstream's head and when it arrived.
    var responseHead: HTTPResponseHead?
    var responseHeadAt: Duration?
    /// Upstream body bytes, de-framed (NIO's decoder removed any chunk framing), in one buffer that grows by
    /// doubling (no allocation per read), and where each read ended in it, with its time.
    private(set) var body: [UInt8] = []
    private(set) var readEnds: [(at: Duration, end: Int)] = []

    /// Each upstream body read: its time and bytes.
    var reads: [(at: Duration, bytes: ArraySlice<UInt8>)] {
        var start = 0
        return readEnds.map { read in
            defer { start = read.end }
            return (read.at, body[start..<read.end])
        }
    }
    /// The upstream's body ended (its `end` arrived) at this time.
    var endedAt: Duration?
    /// Bytes held (request body and reads).
    private(set) var size = 0
    /// Something was left out at the bound.
    private(set) var truncated = false
    let limit: Int

    init(head: HTTPRequestHead, body: ByteBuffer, limit: Int) {
        self.limit = limit
        method = head.method.rawValue
        uri = head.uri
        requestHeaders = head.headers
        requestBodyLength = body.readableBytes
        let kept = Self.requestBodyBytesKept(of: body.readableBytes, limit: limit)
        requestBody = body.getBytes(at: body.readerIndex, length: kept) ?? []  // one copy, not byte by byte
        truncated = requestBody.count < body.readableBytes
        size = requestBody.count
    }

    /// How much of a request body of `length` bytes a capture copies: all of it up to `limit`; of a larger body, at
    /// most a tenth, so that the copy never adds more than 10 % to the memory the body itself takes while it is in
    /// flight (a 1 MiB body keeps 102 KiB, a body of 2.5 MiB or more keeps `limit`). Such a capture is truncated
    /// either way.
    static func requestBodyBytesKept(of length: Int, limit: Int) -> Int {
        length <= limit ? length : min(limit, length / 10)
    }

    mutating func upstreamHead(_ head: HTTPResponseHead, at: Duration) {
        guard responseHead == nil else { return }
        responseHead = head
        responseHeadAt = at
    }

    /// The buffers at their exact sizes (a growing buffer may hold up to twice its bytes), once the answer ended.
    /// Small buffers stay as they are: their slack is bytes, and a copy per request cost more than it saved.
    mutating func compact() {
        if body.capacity > 4096, body.capacity > body.count + body.count / 4 { body = Array(body[...]) }
        if readEnds.capacity > 64, readEnds.capacity > readEnds.count + readEnds.count / 4 {
            readEnds = Array(readEnds[...])
        }
    }

    mutating func upstreamBody(_ bytes: some Collection<UInt8>, at: Duration) {
        let room = limit - size
        guard room > 0 else {
            truncated = true
            return
        }
        let kept = bytes.prefix(room)
        if kept.count < bytes.count { truncated = true }
        size += kept.count
        body += kept
        readEnds.append((at, body.count))
    }

    // MARK: Ways out

    /// The request and response as JSON (`GET /api/captures/{id}`), secrets redacted.
    func json(id: String) -> String {
        func headers(_ fields: [(String, String)], secrets: Set<String>) -> String {
            "[" + fields.map { name, value in
                "[\(ActivityJSON.string(name)),\(ActivityJSON.string(HeaderRedaction.redact(name: name, value: value, secrets: secrets)))]"
            }.joined(separator: ",") + "]"
        }
        var out = "{\"id\":\(ActivityJSON.string(id)),\"truncated\":\(truncated),\"request\":{"
        out += "\"method\":\(ActivityJSON.string(method)),\"uri\":\(ActivityJSON.string(uri)),"
        let requestFields = requestHeaders.map { ($0.name, $0.value) }
        out += "\"headers\":\(headers(requestFields, secrets: HeaderRedaction.secretRequestHeaders)),"
        out += "\"body\":\(ActivityJSON.string(String(decoding: requestBody, as: UTF8.self))),"
        out += "\"bodyBytes\":\(requestBodyLength)},\"response\":{"
        out += "\"status\":\(responseHead.map { "\($0.status.code)" } ?? "null"),"
        let responseFields = responseHead.map { $0.headers.map { ($0.name, $0.value) } } ?? []
        out += "\"headers\":\(headers(responseFields, secrets: HeaderRedaction.secretResponseHeaders)),"
        out += "\"chunks\":[" + reads.map { read in
            "{\"t\":\(ActivityJSON.milliseconds(read.at)),\"text\":\(ActivityJSON.string(String(decoding: read.bytes, as: UTF8.self)))}"
        }.joined(separator: ",") + "]}}"
        return out
    }

    /// The exchange as `harness record` would have recorded it from the upstream's side: the head as one read when
    /// it arrived, then every body read with its time, re-framed as the upstream sent it (chunk framing when its
    /// head says `chunked`), then the close. `RecordingWriter` turns it into the scenario file.
    func recordedExchange(model: String, date: Date) -> RecordedExchange {
        var reads: [RecordedRead] = []
        var ending = Ending.close
        var endedAt = endedAt
        if let head = responseHead, let headAt = responseHeadAt {
            let chunked = head.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
            var text = "HTTP/\(head.version.major).\(head.version.minor) \(head.status.code) \(head.status.reasonPhrase)\r\n"
            for field in head.headers { text += "\(field.name): \(field.value)\r\n" }
            text += "\r\n"
            reads.append(RecordedRead(offset: headAt, bytes: Array(text.utf8)))
            for read in self.reads {
                let bytes = chunked ? Array("\(String(read.bytes.count, radix: 16))\r\n".utf8) + read.bytes + [13, 10] : Array(read.bytes)
                reads.append(RecordedRead(offset: read.at, bytes: bytes))
            }
            if let end = self.endedAt, chunked, !truncated {
                reads.append(RecordedRead(offset: end, bytes: Array("0\r\n\r\n".utf8)))
            }
        }
        if endedAt == nil { ending = .close; endedAt = reads.last?.offset }
        var note = "exported by llama-proxy from its capture of a request for model '\(model)'"
        if truncated { note += "; the capture was cut at \(limit) bytes, so the response is incomplete" }
        return RecordedExchange(
            request: RecordedRequest(
                method: method, uri: uri, headers: requestHeaders.map { HeaderField($0.name, $0.value) }, body: requestBody),
            reads: reads, ending: ending, endedAt: endedAt, note: note, upstream: "llama-proxy model '\(model)'",
            date: date)
    }

    /// The scenario file (`GET /api/captures/{id}/scenario`).
    func scenarioYAML(model: String, date: Date) -> String {
        RecordingWriter.yaml(for: recordedExchange(model: model, date: date))
    }
}
