import NIOHTTP1
import Testing

@testable import Proxy

/// RFC 9110 §7.6.1: a proxy forwards neither the hop-by-hop fields nor the fields a `Connection` header names; the
/// rest pass in their order, with their case and repeats.
struct HopByHopHeadersTests {
    @Test func hopByHopFieldsAndTheOnesConnectionNamesGo() {
        let headers = HTTPHeaders([
            ("Content-Type", "application/json"), ("Connection", "keep-alive, X-Secret ,, Upgrade"),
            ("KEEP-ALIVE", "timeout=5, max=100"), ("x-secret", "a"), ("X-Request-Id", "r1"), ("TE", "trailers"),
            ("Transfer-Encoding", "chunked"), ("Proxy-Connection", "keep-alive"), ("Trailer", "X"),
            ("Upgrade", "websocket"), ("Proxy-Authenticate", "Basic"), ("Proxy-Authorization", "Basic eA=="),
            ("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-SECRET", "b"), ("Content-Length", "2"),
        ])
        let kept = HopByHopHeaders.removing(from: headers)
        #expect(kept.map { "\($0.name): \($0.value)" } == [
            "Content-Type: application/json", "X-Request-Id: r1", "Set-Cookie: a=1", "set-cookie: b=2",
            "Content-Length: 2",
        ])
    }

    @Test func nothingToRemoveLeavesTheHeadersAsTheyAre() {
        let headers = HTTPHeaders([("Host", "m"), ("Accept", "*/*"), ("Accept", "text/event-stream")])
        #expect(HopByHopHeaders.removing(from: headers) == headers)
    }
}
