import FakeUpstream
import NIOCore
import RawHTTP
import Testing

@testable import Harness

/// What a run concludes when a proxy splices a heartbeat into an event: the client's reads and the fake's journal
/// are made by hand (no proxy does this on purpose), and go through the same assembly as a real run.
@Suite struct SplicedHeartbeatTests {
    static let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    static let event = "data: {\"choices\":[{\"delta\":{\"content\":\" temperature\"}}]}\n\n"

    static func chunk(_ text: String) -> String {
        String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n"
    }

    /// The client's reads of `pieces` (after the head), one read each, 100 ms apart.
    static func attempt(_ pieces: [String], sentAt: NIODeadline) -> ReplayAttempt {
        let decoder = ResponseDecoder(requestMethod: "POST")
        var reads: [ReplayAttempt.Read] = []
        for (index, piece) in ([head] + pieces + ["0\r\n\r\n"]).enumerated() {
            let bytes = Array(piece.utf8)
            let step = decoder.feed(bytes)
            reads.append(ReplayAttempt.Read(
                at: sentAt + .milliseconds(Int64(100 * index)), bytes: bytes, completedHead: step.completedHead,
                body: step.body))
        }
        return ReplayAttempt(
            sentAt: sentAt, reads: reads, end: .complete, endedAt: reads.last!.at, clientClosedAt: reads.last!.at,
            lastDeadline: nil, head: decoder.head)
    }

    static func journal(_ pieces: [String]) -> JournalSnapshot {
        var request = RequestRecord(
            method: "POST", path: "/v1/chat/completions", query: nil, headers: [], body: JournalBytes([]), arrival: 0,
            scenario: "spliced", rule: nil, timeScale: 1)
        request.writes = ([head] + pieces + ["0\r\n\r\n"]).map { WriteRecord(offset: 0, scheduled: 0, bytes: Array($0.utf8)) }
        request.end = EndRecord(kind: "close", offset: 0)
        var connection = ConnectionRecord(id: 1, remoteAddress: nil, acceptedAt: 0)
        connection.requests = [request]
        return JournalSnapshot(connections: [connection])
    }

    static func result(client: [String], upstream: [String]) -> ReplayResult {
        var scenario = Scenario(name: "spliced", description: "a split event")
        scenario.spec = ScenarioSpec(
            proxy: ProxySettingsSpec(heartbeatInterval: .seconds(5)),
            expect: Expectations(
                client: .completes, bodyMatchesUpstream: true,
                heartbeatsInsideEvents: CountExpectation(min: 0, max: 0)))
        let now = NIODeadline.now()
        return ReplayRunner.assemble(
            scenario: scenario, options: ReplayOptions(topology: .proxied(TransparentLauncher())),
            profile: ClientProfiles.undici, heartbeat: .keepalive, proxySettings: scenario.spec?.proxy,
            attempts: [attempt(client, sentAt: now)], journal: journal(upstream), origin: now)
    }

    static let split = [String(event.prefix(20)), String(event.dropFirst(20))]

    @Test func aHeartbeatBetweenEventsPasses() {
        let upstream = [Self.chunk(Self.event), Self.chunk(Self.event)]
        let client = [Self.chunk(Self.event), Self.chunk(": keepalive\n\n"), Self.chunk(Self.event)]
        let result = Self.result(client: client, upstream: upstream)
        #expect(result.facts.heartbeatsInsideEvents == 0)
        #expect(result.heartbeats == 1)
        #expect(result.verdict == .pass, "\(result.details)")
    }

    @Test func aHeartbeatSplicedIntoTheDataLineFails() {
        let upstream = Self.split.map(Self.chunk)
        let client = [Self.chunk(Self.split[0]), Self.chunk(": keepalive\n\n"), Self.chunk(Self.split[1])]
        let result = Self.result(client: client, upstream: upstream)
        #expect(result.facts.heartbeatsInsideEvents == 1)
        #expect(result.heartbeats == 0, "inside an event it is data, not a heartbeat")
        #expect(result.verdict == .fail)
        #expect(Set(result.expectations.filter(\.failed).map(\.key)) == ["bodyMatchesUpstream", "heartbeatsInsideEvents"])
    }
}
