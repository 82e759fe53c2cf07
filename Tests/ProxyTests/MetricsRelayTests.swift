import CoreMetrics
import InMemoryLogging
import Logging
import MetricsTestKit
import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// The metrics one request moves, as exact deltas: the real connection handler and relay on a driven clock
/// (``DrivenRelayRig``) reporting to a ``ProxyMetrics`` made from swift-metrics' `TestMetrics`.
@Suite struct MetricsRelayTests {
    typealias Name = ProxyMetrics.Name
    static let model = [("model", DrivenRelayRig.modelID)]
    static let chat = model + [("route", "/v1/chat/completions")]

    static func rig(heartbeat: Duration?, holdLeases: Bool = false) throws -> (DrivenRelayRig, TestMetrics) {
        let test = TestMetrics()
        let rig = try DrivenRelayRig(
            heartbeat: heartbeat, holdLeases: holdLeases, metrics: ProxyMetrics(factory: test))
        return (rig, test)
    }

    static func counter(_ test: TestMetrics, _ label: String, _ dimensions: [(String, String)] = model) -> Int64 {
        test.counterTotal(label: label, dimensions: dimensions)
    }

    static func timerValues(_ test: TestMetrics, _ label: String, _ dimensions: [(String, String)] = model) -> [Int64] {
        (try? test.expectTimer(label, dimensions).values) ?? []
    }

    static func status(_ code: Int) -> [(String, String)] { chat + [("status", "\(code)")] }

    /// A stream with no silence: one request with its status, the bytes the client got, no heartbeat, the upstream
    /// head's, first byte's and end's times to the nanosecond, and the in-flight gauge up then down.
    @Test func oneStreamedRequest() throws {
        let (rig, test) = try Self.rig(heartbeat: .seconds(1))
        try rig.sendRequest()
        #expect(try test.expectMeter(Name.inFlight, Self.model).values == [1])
        rig.advance(to: .milliseconds(300))
        try rig.upstreamStreamHead()
        rig.advance(to: .milliseconds(500))
        let events = "data: {\"n\":1}\n\ndata: [DONE]\n\n"
        try rig.upstreamChunk(events)
        rig.advance(to: .milliseconds(700))
        #expect(Self.counter(test, Name.requests, Self.status(200)) == 0, "not counted before its end")
        try rig.upstreamEnds()
        let response = try rig.response()
        #expect(response.status == 200 && response.ended)

        #expect(Self.counter(test, Name.requests, Self.status(200)) == 1)
        #expect(test.counters(label: Name.requests).count == 1)
        #expect(Self.counter(test, Name.bytes) == Int64(events.utf8.count))
        #expect(Self.counter(test, Name.heartbeats) == 0)
        #expect(Self.counter(test, Name.withheld) == 0)
        #expect(Self.counter(test, Name.inBandErrors) == 0)
        #expect(Self.counter(test, Name.clientGone) == 0)
        #expect(Self.timerValues(test, Name.upstreamHead) == [300_000_000])
        #expect(Self.timerValues(test, Name.firstByte) == [300_000_000])
        #expect(Self.timerValues(test, Name.duration, Self.chat) == [700_000_000])
        #expect(try test.expectMeter(Name.inFlight, Self.model).values == [1, 0])
    }

    /// A silent upstream: heartbeats at 1 s and 2 s (the first commits `200`), so the client's first byte is at 1 s
    /// while the upstream's head comes at 2.5 s; each heartbeat's bytes count as bytes relayed.
    @Test func heartbeatsAreCountedAndFirstByteIsTheCommit() throws {
        let (rig, test) = try Self.rig(heartbeat: .seconds(1))
        try rig.sendRequest()
        rig.advance(to: .milliseconds(2500))
        try rig.upstreamStreamHead()
        let events = "data: {\"n\":1}\n\n"
        try rig.upstreamChunk(events)
        try rig.upstreamEnds()
        #expect(try rig.response().status == 200)
        #expect(Self.counter(test, Name.heartbeats) == 2)
        #expect(Self.counter(test, Name.withheld) == 0)
        #expect(Self.counter(test, Name.bytes) == Int64(2 * ": keepalive\n\n".utf8.count + events.utf8.count))
        #expect(Self.timerValues(test, Name.firstByte) == [1_000_000_000])
        #expect(Self.timerValues(test, Name.upstreamHead) == [2_500_000_000])
        #expect(Self.counter(test, Name.requests, Self.status(200)) == 1)
    }

    /// The upstream stops inside an event for 10 intervals: a heartbeat is due and withheld at 1.1 s, 2.1 s … 9.1 s.
    @Test func withheldHeartbeatsAreCounted() throws {
        let (rig, test) = try Self.rig(heartbeat: .seconds(1))
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        rig.advance(to: .milliseconds(100))
        try rig.upstreamChunk("data: {\"a\":")
        rig.advance(to: .milliseconds(9_500))
        try rig.upstreamChunk("1}\n\n")
        try rig.upstreamEnds()
        _ = try rig.response()
        #expect(Self.counter(test, Name.withheld) == 9)
        #expect(Self.counter(test, Name.heartbeats) == 0)
    }

    /// The proxy committed `200` with a heartbeat, then the upstream closed before its head: one in-band error,
    /// status 200 (what the client saw), one heartbeat.
    @Test func inBandErrorIsCounted() throws {
        let (rig, test) = try Self.rig(heartbeat: .seconds(1), holdLeases: true)
        try rig.sendRequest()
        rig.advance(to: .milliseconds(1500))
        try rig.leases.grant()
        try rig.upstreamCloses()
        #expect(try rig.response().ended)
        #expect(Self.counter(test, Name.inBandErrors) == 1)
        #expect(Self.counter(test, Name.heartbeats) == 1)
        #expect(Self.counter(test, Name.requests, Self.status(200)) == 1)
        #expect(Self.timerValues(test, Name.upstreamHead).isEmpty)
    }

    /// The client leaves in the middle of a stream: counted once, as gone early, and the gauge comes back down.
    @Test func clientGoneEarlyIsCountedOnce() throws {
        let (rig, test) = try Self.rig(heartbeat: .seconds(1))
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: {\"n\":1}\n\n")
        rig.advance(to: .seconds(2))
        try rig.client.close().wait()
        rig.advance(to: .seconds(5))
        #expect(Self.counter(test, Name.clientGone) == 1)
        #expect(Self.counter(test, Name.requests, Self.status(200)) == 1)
        #expect(Self.timerValues(test, Name.duration, Self.chat) == [2_000_000_000])
        #expect(try test.expectMeter(Name.inFlight, Self.model).values == [1, 0])
    }

    /// The proxy's own answers count too, under an empty model and their route; no relay metrics move.
    @Test func proxyAnswersAreCountedWithoutAModel() throws {
        let (rig, test) = try Self.rig(heartbeat: .seconds(1))
        try rig.client.writeInbound(ByteBuffer(string: "GET /v1/models HTTP/1.1\r\nHost: proxy\r\n\r\n"))
        try rig.client.writeInbound(ByteBuffer(string: "GET /nowhere HTTP/1.1\r\nHost: proxy\r\n\r\n"))
        _ = try rig.take()
        #expect(Self.counter(test, Name.requests, [("model", ""), ("route", "/v1/models"), ("status", "200")]) == 1)
        #expect(Self.counter(test, Name.requests, [("model", ""), ("route", "other"), ("status", "404")]) == 1)
        #expect(test.meters.isEmpty)
        #expect(test.counters(label: Name.heartbeats).isEmpty)
    }

    /// `Connection: close`: the proxy closes after the response's end, which is no client leaving early.
    @Test func closeAfterTheEndIsNotAClientGoneEarly() throws {
        let (rig, test) = try Self.rig(heartbeat: .seconds(1))
        try rig.client.writeInbound(
            ByteBuffer(string: "GET /v1/models HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n"))
        #expect(try rig.response().ended)
        #expect(!rig.client.isActive, "the proxy closed the connection")
        #expect(Self.counter(test, Name.requests, [("model", ""), ("route", "/v1/models"), ("status", "200")]) == 1)
        #expect(test.counters(label: Name.clientGone).isEmpty)
    }
}
