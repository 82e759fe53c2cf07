import Proxy
import Testing

/// The pool's rules (``UpstreamExchange``, ``UpstreamIdleExpiry``, ``UpstreamIdleSet``) with plain values and exact
/// times: reuse, idle expiry, retry (performance issue, item 1).
@Suite struct PoolPolicyTests {
    static let ns = Duration.nanoseconds(1)

    static func keepAlive(_ connection: [String] = [], _ keepAlive: [String] = [], minor: Int = 1) -> UpstreamKeepAlive
    {
        UpstreamKeepAlive(versionMajor: 1, versionMinor: minor, connection: connection, keepAlive: keepAlive)
    }

    /// A finished exchange: written, head, end.
    static func finished(
        contentType: String? = "application/json", keepAlive: UpstreamKeepAlive = keepAlive([], ["timeout=5, max=100"]),
        framed: Bool = true, status: Int = 200, earlier: Int = 0
    ) -> UpstreamExchange {
        var exchange = UpstreamExchange(reused: earlier > 0, earlierRequests: earlier)
        exchange.requestWritten()
        exchange.headArrived(status: status, contentType: contentType, keepAlive: keepAlive, framed: framed)
        exchange.ended()
        return exchange
    }

    // MARK: Headers

    @Test func readsLlamaServersKeepAliveHeader() {
        let value = Self.keepAlive([], ["timeout=5, max=100"])
        #expect(value == UpstreamKeepAlive(close: false, timeout: .seconds(5), max: 100))
        #expect(Self.keepAlive(["Keep-Alive"], ["Timeout = 7"]) == UpstreamKeepAlive(timeout: .seconds(7)))
        #expect(Self.keepAlive(["close"]).close)
        #expect(Self.keepAlive(["keep-alive, Close"]).close)
        #expect(Self.keepAlive([], [], minor: 0).close, "HTTP/1.0 closes unless it says keep-alive")
        #expect(!Self.keepAlive(["keep-alive"], [], minor: 0).close)
        #expect(Self.keepAlive([], ["timeout=x, max=-1"]) == UpstreamKeepAlive())
    }

    // MARK: Idle expiry

    @Test func idleLimitEndsBeforeTheAdvertisedTimeout() {
        func limit(_ header: String?) -> Duration? {
            UpstreamIdleExpiry.idleLimit(for: Self.keepAlive([], header.map { [$0] } ?? []))
        }
        #expect(limit("timeout=5, max=100") == .seconds(4))
        #expect(limit("timeout=3") == .seconds(2))
        #expect(limit("timeout=2") == .seconds(1))
        #expect(limit("timeout=1") == .milliseconds(500))
        #expect(limit("timeout=0") == nil)
        #expect(limit("timeout=600") == .seconds(60))
        #expect(limit(nil) == .seconds(2), "no timeout given: 2 s, under llama-server's and uvicorn's 5 s")
    }

    // MARK: Reuse verdicts

    @Test func reusesOnlyAfterAFramedCompleteKeepAliveAnswer() {
        #expect(Self.finished().verdict == .reuse(idleFor: .seconds(4)))
        #expect(Self.finished(contentType: "text/event-stream").verdict == .close(.eventStream))
        #expect(Self.finished(contentType: "Text/Event-Stream; charset=utf-8").verdict == .close(.eventStream))
        #expect(Self.finished(keepAlive: Self.keepAlive(["close"])).verdict == .close(.connectionClose))
        #expect(Self.finished(keepAlive: Self.keepAlive([], [], minor: 0)).verdict == .close(.connectionClose))
        #expect(Self.finished(framed: false).verdict == .close(.noFraming))
        #expect(Self.finished(status: 101).verdict == .close(.upgrade))
        #expect(Self.finished(keepAlive: Self.keepAlive([], ["timeout=0"])).verdict == .close(.keepAliveExhausted))
        #expect(Self.finished(earlier: 98).verdict == .reuse(idleFor: .seconds(4)), "the 99th of max=100")
        #expect(Self.finished(earlier: 99).verdict == .close(.keepAliveExhausted), "the 100th of max=100")
    }

    @Test func neverReusesAnUnfinishedExchange() {
        var unwritten = UpstreamExchange(reused: false)
        #expect(unwritten.verdict == .close(.requestUnwritten))
        unwritten.requestWritten()
        #expect(unwritten.verdict == .close(.bodyUnfinished), "no answer yet")
        unwritten.headArrived(
            status: 200, contentType: "application/json", keepAlive: UpstreamKeepAlive(), framed: true)
        #expect(unwritten.verdict == .close(.bodyUnfinished), "head without the end of its body")
        unwritten.ended()
        #expect(unwritten.verdict == .reuse(idleFor: UpstreamIdleExpiry.default))
        var closed = Self.finished()
        closed.closed()
        #expect(closed.verdict == .close(.closed), "a time bound or the client closed it")
    }

    // MARK: Retry

    @Test(arguments: [false, true], [false, true])
    func retriesOnlyAReusedConnectionThatFailedBeforeTheRequestWasWritten(bytesSeen: Bool, written: Bool) {
        for reused in [false, true] {
            var exchange = UpstreamExchange(reused: reused, earlierRequests: reused ? 1 : 0)
            if written { exchange.requestWritten() }
            if bytesSeen { exchange.responseBytesArrived() }
            let expected: UpstreamExchange.FailureDecision =
                reused && !bytesSeen && !written ? .retryOnFreshConnection : .fail
            let decision = exchange.failed()
            #expect(decision == expected, "reused \(reused), bytes \(bytesSeen), written \(written)")
            #expect(exchange.verdict == .close(.closed))
        }
    }

    // MARK: The idle set

    typealias Set = UpstreamIdleSet<String, Int>

    @Test func handsOutUntilOneNanosecondBeforeExpiry() {
        var set = Set()
        let kept = set.release(1, key: "m", requestsServed: 1, idleFor: .seconds(4), now: .seconds(10))
        #expect(kept)
        #expect(set.nextExpiry == .seconds(14))
        let early = set.take(key: "m", now: .seconds(14) - Self.ns)
        #expect(early.entry?.connection == 1)
        #expect(early.entry?.requestsServed == 1)
        _ = set.release(1, key: "m", requestsServed: 2, idleFor: .seconds(4), now: .seconds(20))
        let late = set.take(key: "m", now: .seconds(24))
        #expect(late.entry == nil)
        #expect(late.expired == [1], "expired at exactly its expiry, and handed back for closing")
        #expect(set.count == 0)
    }

    @Test func warmestFirstAndPerKey() {
        var set = Set(maxIdlePerKey: 2)
        let kept = [
            set.release(1, key: "a", requestsServed: 1, idleFor: .seconds(4), now: .zero),
            set.release(2, key: "a", requestsServed: 1, idleFor: .seconds(4), now: .seconds(1)),
            set.release(3, key: "a", requestsServed: 1, idleFor: .seconds(4), now: .seconds(1)),
            set.release(4, key: "b", requestsServed: 1, idleFor: .seconds(4), now: .seconds(1)),
        ]
        #expect(kept == [true, true, false, true], "the third for 'a' is over the limit")
        let other = set.take(key: "c", now: .seconds(1))
        #expect(other.entry == nil, "another upstream's connections are not lent")
        let warm = set.take(key: "a", now: .seconds(2))
        #expect(warm.entry?.connection == 2, "the most recently released")
        let expired = set.expire(now: .seconds(4))
        #expect(expired == [1])
        #expect(set.count == 1)
        let removed = set.remove(4, key: "b", now: .seconds(2))
        #expect(removed, "closed while idle")
        let again = set.remove(4, key: "b", now: .seconds(2))
        #expect(!again)
        #expect(set.count == 0)
        #expect(set.nextExpiry == nil)
    }

    /// An upstream's connections are handed out only after one of them stayed open through its probation; one that
    /// closes a pooled connection early is not pooled for 60 s, then starts on probation again.
    @Test func trustIsEarnedAndLost() {
        var set = Set()
        let probation = Set.probation
        #expect(probation == .milliseconds(100))
        _ = set.release(1, key: "m", requestsServed: 1, idleFor: .seconds(4), now: .zero)
        let early = set.take(key: "m", now: probation - Self.ns)
        #expect(early.entry == nil, "on probation")
        #expect(!set.isTrusted("m"))
        let proven = set.take(key: "m", now: probation)
        #expect(proven.entry?.connection == 1)
        #expect(set.isTrusted("m"))
        _ = set.release(1, key: "m", requestsServed: 2, idleFor: .seconds(4), now: .seconds(1))
        let atOnce = set.take(key: "m", now: .seconds(1))
        #expect(atOnce.entry?.connection == 1, "trusted: available at once")
        _ = set.release(1, key: "m", requestsServed: 3, idleFor: .seconds(4), now: .seconds(2))
        let removed = set.remove(1, key: "m", now: .seconds(3))
        #expect(removed, "the upstream closed it 1 s into its 4 s")
        #expect(!set.isTrusted("m"))
        let refused = set.release(2, key: "m", requestsServed: 1, idleFor: .seconds(4), now: .seconds(63) - Self.ns)
        #expect(!refused, "distrusted for 60 s")
        let accepted = set.release(2, key: "m", requestsServed: 1, idleFor: .seconds(4), now: .seconds(63))
        #expect(accepted)
        let again = set.take(key: "m", now: .seconds(63))
        #expect(again.entry == nil, "on probation again")
    }

    @Test func dropsAStoppedModelsConnections() {
        var set = Set()
        _ = set.release(1, key: "a", requestsServed: 1, idleFor: .seconds(4), now: .zero)
        _ = set.release(2, key: "b", requestsServed: 1, idleFor: .seconds(4), now: .zero)
        let dropped = set.drop(where: { $0 == "a" })
        #expect(dropped == [1])
        let a = set.take(key: "a", now: .seconds(1))
        #expect(a.entry == nil)
        let b = set.take(key: "b", now: .seconds(1))
        #expect(b.entry?.connection == 2)
    }
}
