import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// What a connection does once it is closed: nothing more is dispatched, and nothing stays counted in flight (a
/// request counted forever would hold every shutdown for its whole grace).
@Suite struct FrontDoorCloseTests {
    /// The client leaves while a relayed request waits and two more are pipelined behind it: NIO's pipelining
    /// handler replays the held-back requests as the pipeline is torn down; none may start.
    @Test func pipelinedRequestsHeldBackAreNotStartedAfterTheClose() throws {
        let rig = FrontDoorRig(limits: ClientLimits(), responseHeaderTimeout: .seconds(5))
        let channel = try rig.connect()
        let body = "{\"model\":\"m\",\"messages\":[]}"
        let relayed = "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try channel.writeInbound(ByteBuffer(string: relayed + relayed + "GET /health HTTP/1.1\r\n\r\n"))
        #expect(rig.tracker.inFlight == 1)
        #expect(rig.connector.channels.count == 1)
        try channel.close().wait()
        rig.advance(by: .seconds(10))
        #expect(rig.connector.channels.count == 1, "no request starts on a closed connection")
        #expect(rig.tracker.inFlight == 0)
    }
}
