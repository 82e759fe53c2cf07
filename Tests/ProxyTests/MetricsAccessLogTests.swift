import InMemoryLogging
import Logging
import NIOCore
import Testing

@testable import Proxy

/// The access log: one `access` line per request with its fields, and the request id — the client's `X-Request-Id`
/// or a generated one — sent upstream, echoed on the response and in the metadata of every line about the request.
@Suite struct MetricsAccessLogTests {
    static func rig(logs: InMemoryLogHandler, heartbeat: Duration? = .seconds(1)) throws -> DrivenRelayRig {
        var logger = Logger(label: "access-test", factory: { _ in logs })
        logger.logLevel = .debug
        return try DrivenRelayRig(heartbeat: heartbeat, logger: logger)
    }

    static func send(_ rig: DrivenRelayRig, requestID: String?) throws {
        let body = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}"
        let idHeader = requestID.map { "X-Request-Id: \($0)\r\n" } ?? ""
        try rig.client.writeInbound(
            ByteBuffer(
                string: "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
                    + idHeader + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"))
    }

    /// A stream with one heartbeat: the client's id reaches the upstream and comes back on the response; one access
    /// line with every field; every line logged about the request carries the id.
    @Test func clientRequestIDIsForwardedEchoedAndOnEveryLine() throws {
        let logs = InMemoryLogHandler()
        let rig = try Self.rig(logs: logs)
        try Self.send(rig, requestID: "req-42")
        let upstreamRequest = try rig.upstreamRequest()
        #expect(upstreamRequest.contains("\r\nX-Request-Id: req-42\r\n"), "\(upstreamRequest)")
        rig.advance(to: .milliseconds(1500))
        try rig.upstreamStreamHead()
        let events = "data: {\"n\":1}\n\n"
        try rig.upstreamChunk(events)
        rig.advance(to: .milliseconds(1750))
        try rig.upstreamEnds()
        let text = String(decoding: try rig.take(), as: UTF8.self)
        #expect(text.contains("\r\nX-Request-Id: req-42\r\n"), "\(text)")

        let access = logs.entries.filter { $0.message == "access" }
        #expect(access.count == 1)
        let fields = access.first?.metadata ?? [:]
        let expected: Logger.Metadata = [
            "request": "req-42", "model": "m", "route": "/v1/chat/completions", "status": "200",
            "bytes": "\(": keepalive\n\n".utf8.count + events.utf8.count)", "duration_ms": "1750.0",
            "ttfb_ms": "1000.0", "heartbeats": "1", "withheld": "0", "client_gone": "false",
        ]
        #expect(fields == expected)
        #expect(access.first?.level == .info)
        #expect(logs.entries.count >= 2, "the relay's own lines (request done) are there too")
        for entry in logs.entries {
            #expect(entry.metadata["request"] == "req-42", "\(entry.message) lacks the request id")
        }
    }

    /// No `X-Request-Id` (or an unusable one): a generated 16-hex-digit id, the same upstream, back and in the log.
    @Test(arguments: [nil, "has space", String(repeating: "x", count: 129)])
    func generatedIDWhenTheClientGivesNoneUsable(given: String?) throws {
        let logs = InMemoryLogHandler()
        let rig = try Self.rig(logs: logs, heartbeat: nil)
        try Self.send(rig, requestID: given)
        let upstreamRequest = try rig.upstreamRequest()
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        let response = try rig.response()
        let id = response.header("x-request-id") ?? ""
        #expect(id.count == 16 && id.allSatisfy(\.isHexDigit), "\(id)")
        #expect(upstreamRequest.contains("\r\nX-Request-Id: \(id)\r\n"))
        let access = logs.entries.filter { $0.message == "access" }
        #expect(access.map { $0.metadata["request"] } == [.string(id)])
        #expect(access.first?.metadata["status"] == "200")
        #expect(access.first?.metadata["bytes"] == "2")
        #expect(access.first?.metadata["ttfb_ms"] == "0.0")
    }

    /// Generated ids are 16 lowercase hex digits and never repeat within a process (SplitMix64 over a counter).
    @Test func generatedIDsAreDistinct() {
        let ids = (0..<20_000).map { _ in RequestStats.generatedID() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.utf8.count == 16 && $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } })
        #expect(Set(ids.map(\.first)).count == 16, "every leading digit appears: the values spread")
    }

    /// The client leaves mid-stream: its line says so, with what it got until then.
    @Test func clientGoneEarlyIsInTheLine() throws {
        let logs = InMemoryLogHandler()
        let rig = try Self.rig(logs: logs)
        try Self.send(rig, requestID: "gone")
        rig.advance(to: .milliseconds(2500))
        try rig.client.close().wait()
        let access = logs.entries.filter { $0.message == "access" }
        #expect(access.count == 1)
        #expect(access.first?.metadata["client_gone"] == "true")
        #expect(access.first?.metadata["heartbeats"] == "2")
        #expect(access.first?.metadata["duration_ms"] == "2500.0")
    }
}
