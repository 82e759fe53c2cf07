import NIOCore
import NIOEmbedded
import NIOHTTP1
import SeededRandom
import Testing
import Timeline
import Wire

@testable import Proxy

/// The live record's client deadlines (``LiveRequest``) are made lazily — replayed from its events when read, fed
/// directly only once its marks start to merge or drop — and must equal, exactly, a ``ClientDeadlineWatch`` fed
/// with every write as it happened: short records, long streams past the byte-mark limit, waits with more
/// heartbeats than the mark limit, in-band errors, read in flight or after the end.
@Suite struct LiveRequestDeadlineTests {
    /// Writes in seconds apart drawn so that some profiles' timers fire (30 s to 700 s gaps) and others do not.
    @Test(arguments: [
        (seed: UInt64(1), writes: 3), (seed: 2, writes: 40), (seed: 3, writes: 300), (seed: 4, writes: 1_200),
        (seed: 5, writes: 2_500), (seed: 6, writes: 9),
    ])
    func theRecordsDeadlinesAreTheWatchsFedOnEveryWrite(seed: UInt64, writes: Int) {
        var random = SplitMix64(seed: seed)
        let loop = EmbeddedEventLoop()
        let arrival = loop.now
        let record = LiveRequest(
            id: "r", model: "m", route: "/v1/chat/completions",
            head: HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions"),
            body: ByteBuffer(string: "{}"), streaming: true, arrival: arrival, eventLoop: loop, captureLimit: nil)
        var reference = ClientDeadlineWatch(profiles: ClientProfiles.all)
        func at() -> Duration { .nanoseconds(Int64(loop.now.uptimeNanoseconds - arrival.uptimeNanoseconds)) }

        var headSent = false
        for index in 0..<writes {
            // Short gaps (many marks); in the last quarter — past the limits in a long record, where the marks no
            // longer hold every read — now and then a long silence that some timers outlast.
            let late = index >= writes * 3 / 4
            let gap: Int64 =
                late && random.chance(5) ? Int64(30 + random.below(700)) * 1_000 : Int64(random.below(900))
            loop.advanceTime(by: .milliseconds(gap))
            if random.chance(30) {
                // An upstream read: a byte mark on the upstream lane, not a client read.
                record.relayObserved(.upstreamPart(.body(ByteBuffer(string: "data: x\n\n"))))
            }
            if !headSent {
                headSent = true
                record.clientWrote(.head(HTTPResponseHead(version: .http1_1, status: .ok)), at: loop.now)
                reference.received(at: at(), completesHead: true, hasBody: false)
                continue
            }
            let kind = random.below(10)
            if kind < 4 { record.relayObserved(.action(.sendHeartbeat)) }
            if kind == 4 { record.relayObserved(.action(.sendInBandError(OpenAIError(message: "x", type: "server_error", code: 502)))) }
            let bytes = kind == 5 ? 0 : 1 + random.below(60)
            record.clientWrote(.body(.byteBuffer(ByteBuffer(repeating: 0x61, count: bytes))), at: loop.now)
            reference.received(at: at(), completesHead: false, hasBody: bytes > 0)
        }
        let inFlight = record.timeline(now: loop.now)
        #expect(inFlight.timeline.deadlines == reference.deadlines(at: at()), "in flight")
        if writes >= 1_200 {
            #expect(inFlight.merged + inFlight.dropped > 0, "a long record must pass a limit")
        }

        loop.advanceTime(by: .seconds(50))
        record.clientWrote(.end(nil), at: loop.now)
        var stats = RequestStats(
            head: HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions"), arrival: arrival)
        stats.duration = at()
        record.finished(stats)
        let ended = record.timeline(now: loop.now + .seconds(1_000))
        #expect(ended.timeline.deadlines == reference.deadlines(at: at()), "ended")
    }
}
