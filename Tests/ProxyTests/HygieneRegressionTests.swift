import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// Issue 12's "Why" list, the failures in HTTP hygiene, one test each, through the real connection handler and
/// NIO's codec on an `EmbeddedChannel` with driven time (``DrivenRelayRig``), at the proxy's defaults.
///
/// Written against the API `main` had before the hygiene work (the rig's first initializer, no new config), so the
/// same file runs on both: each of these failed there.
@Suite struct HygieneRegressionTests {
    static let ns = Duration.nanoseconds(1)

    enum Kind: String, CaseIterable, Sendable { case health, models, notFound, streaming, nonStreaming }

    /// "A request with `Connection: close` gets its full response, but the connection stays open and the response
    /// has no `Connection: close`" — streaming, non-streaming and admin endpoints alike.
    @Test(arguments: Kind.allCases)
    func connectionCloseIsAnsweredAndTheConnectionCloses(kind: Kind) throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        let body = "{\"model\":\"m\",\"stream\":\(kind == .streaming),\"messages\":[]}"
        switch kind {
        case .health: try rig.client.writeInbound(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"))
        case .models: try rig.client.writeInbound(ByteBuffer(string: "GET /v1/models HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"))
        case .notFound: try rig.client.writeInbound(ByteBuffer(string: "GET /nowhere HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"))
        case .streaming, .nonStreaming:
            try rig.client.writeInbound(
                ByteBuffer(
                    string: "POST /v1/chat/completions HTTP/1.1\r\nHost: p\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
            if kind == .streaming {
                try rig.upstreamStreamHead()
                try rig.upstreamChunk("data: {\"n\":1}\n\ndata: [DONE]\n\n")
                try rig.upstreamEnds()
            } else {
                try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            }
        }
        let response = try rig.response()
        #expect(response.ended, "\(response)")
        #expect(response.header("connection")?.lowercased() == "close", "\(response.headers)")
        #expect(!rig.client.isActive, "the connection closes after the response")
    }

    /// "`CONNECT host:port` is answered `404` with neither `Content-Length` nor chunked framing; the connection then
    /// stays open and the next request on it is never answered."
    @Test func connectIsAnsweredFramedAndTheConnectionIsUsableOrClosed() throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        try rig.client.writeInbound(ByteBuffer(string: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
        try rig.client.writeInbound(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: p\r\n\r\n"))
        let text = try rig.takeText()
        let first = WireResponse(Array(text.utf8))
        #expect(first.status.map { [405, 501].contains($0) } == true, "\(text)")
        if rig.client.isActive {
            let framed = first.header("content-length") != nil || first.header("transfer-encoding") == "chunked"
            #expect(framed, "\(text)")
            #expect(text.components(separatedBy: "HTTP/1.1 ").count == 3, "the next request is answered: \(text)")
        } else {
            #expect(first.header("connection")?.lowercased() == "close", "a close-delimited answer says so: \(text)")
        }
    }

    /// "No idle timeout: 30 idle connections were all still open after 60 s" — closed at the idle timeout (75 s).
    @Test func anIdleConnectionIsClosedAtTheIdleTimeout() throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        rig.advance(to: .seconds(75) - Self.ns)
        #expect(rig.client.isActive)
        rig.advance(to: .seconds(75))
        #expect(!rig.client.isActive)
        #expect(try rig.take().isEmpty, "closed without an answer: there was no request")
    }

    /// "No header-read timeout: 30 connections that send one header byte a second were still open after 60 s" —
    /// `408` and the close 30 s after the first byte.
    @Test func aSlowlorisHeadIsCutOffAtTheHeaderTimeout() throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        let head = Array("GET /health HTTP/1.1\r\nHost: p\r\n" + String(repeating: "X-Slow: 1\r\n", count: 10))
        for (second, byte) in head.enumerated() {
            rig.advance(to: .seconds(second))
            guard rig.client.isActive else { break }
            try rig.client.writeInbound(ByteBuffer(string: String(byte)))
        }
        let response = try rig.response()
        #expect(response.status == 408, "\(response)")
        #expect(response.header("connection")?.lowercased() == "close")
        #expect(!rig.client.isActive)
        #expect(rig.now == .seconds(30), "cut off at the first second at or past 30 s after the first byte")
    }

    /// "2,000 request headers are accepted" — `431`, then the close.
    @Test func twoThousandHeadersAreRefused() throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        let headers = (0..<2000).map { "X-H\($0): v\r\n" }.joined()
        _ = try? rig.client.writeInbound(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: p\r\n\(headers)\r\n"))
        let response = try rig.response()
        #expect(response.status == 431, "\(response)")
        #expect(response.text.contains("\"code\":431"), "an OpenAI envelope: \(response.text)")
        #expect(!rig.client.isActive)
    }

    /// "A 300 MB POST: no 413" — refused at its head (the declared length is over 256 MiB), before any body is kept.
    @Test func aThreeHundredMegabytePostIsRefusedAtItsHead() throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        try rig.client.writeInbound(
            ByteBuffer(
                string: "POST /v1/chat/completions HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 300000000\r\n\r\n{\"model\":\"m\",\"messages\":[\"" + String(repeating: "a", count: 65536)))
        let response = try rig.response()
        #expect(response.status == 413, "\(response)")
        #expect(response.text.contains("\"code\":413"), "\(response.text)")
        #expect(response.header("connection")?.lowercased() == "close")
        #expect(!rig.client.isActive)
    }
}
