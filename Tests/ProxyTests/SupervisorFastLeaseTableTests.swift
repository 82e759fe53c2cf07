import NIOConcurrencyHelpers
import Testing

@testable import Proxy

/// ``LeaseTable``'s rules, one locked step at a time, with an injected time.
@Suite(.timeLimit(.minutes(1))) struct SupervisorFastLeaseTableTests {
    private let address = UpstreamURL(host: "127.0.0.1", port: 9)

    private func openTable(_ id: String = "m", watchIdle: Bool = false, now: @escaping @Sendable () -> Duration = {
        .zero
    }) -> LeaseTable {
        let table = LeaseTable(now: now)
        table.setPhase(id, .ready)
        table.setWatchIdle(id, watchIdle)
        table.open(id, at: LeaseTable.Open(address: address, run: 1))
        return table
    }

    @Test func fastLeasesOnlyOnAnOpenEntryWhileAcceptingAndUnderTheLimit() {
        let table = LeaseTable()
        #expect(table.tryAcquireFast("m", limit: 2) == nil, "no entry: nothing is ready")
        table.setPhase("m", .starting)
        #expect(table.tryAcquireFast("m", limit: 2) == nil, "starting: not open")
        table.setPhase("m", .ready)
        table.open("m", at: LeaseTable.Open(address: address, run: 3))
        #expect(table.tryAcquireFast("m", limit: 2) == LeaseTable.Open(address: address, run: 3))
        #expect(table.tryAcquireFast("m", limit: 2) != nil)
        #expect(table.tryAcquireFast("m", limit: 2) == nil, "at the limit")
        #expect(table.inFlight("m") == 2)
        _ = table.release("m")
        #expect(table.tryAcquireFast("m", limit: 2) != nil, "under the limit again")
        table.setAccepting(false)
        _ = table.release("m")
        #expect(table.tryAcquireFast("m", limit: 2) == nil, "not accepting")
        table.setAccepting(true)
        table.close("m")
        #expect(table.tryAcquireFast("m", limit: 2) == nil, "closed")
        #expect(table.inFlight("m") == 1)
    }

    @Test func aCallerResolvedInAnotherGenerationIsRefused() {
        let table = openTable()
        table.setGeneration(4)
        #expect(table.tryAcquireFast("m", limit: 5, generation: 3) == nil)
        #expect(table.tryAcquireFast("m", limit: 5, generation: 4) != nil)
        #expect(table.tryAcquireFast("m", limit: 5, generation: nil) != nil)
    }

    @Test func theActorsOwnCountIgnoresTheEntryButNotTheLimit() {
        let table = LeaseTable()
        #expect(table.acquire("m", limit: 1))
        #expect(!table.acquire("m", limit: 1))
        #expect(table.inFlight("m") == 1)
    }

    @Test func releasesTellTheActorOnlyWhenItMustHear() {
        let table = openTable()
        _ = table.tryAcquireFast("m", limit: 9)
        _ = table.tryAcquireFast("m", limit: 9)
        #expect(!table.release("m"), "open, no ttl, count 1: nothing for the actor")
        #expect(!table.release("m"), "open, no ttl, count 0: nothing for the actor")
        #expect(!table.release("m"), "a release at 0 changes nothing")
        #expect(table.inFlight("m") == 0)

        _ = table.tryAcquireFast("m", limit: 9)
        table.close("m")
        #expect(table.release("m"), "reaching 0 on a closed entry (stopping, stopped)")

        let watched = openTable(watchIdle: true)
        _ = watched.tryAcquireFast("m", limit: 9)
        _ = watched.tryAcquireFast("m", limit: 9)
        #expect(!watched.release("m"), "watched idleness: only the release reaching 0")
        #expect(watched.release("m"))

        let queued = openTable()
        _ = queued.tryAcquireFast("m", limit: 9)
        _ = queued.tryAcquireFast("m", limit: 9)
        queued.setAccepting(false)
        #expect(queued.release("m"), "not accepting: every release")
        #expect(queued.release("m"))
    }

    @Test func theTTLCheckFailsAfterAnyAcquireSinceItWasArmedAndClosesOtherwise() {
        let time = NIOLockedValueBox(Duration.seconds(10))
        let table = openTable(watchIdle: true, now: { time.withLockedValue { $0 } })
        _ = table.tryAcquireFast("m", limit: 9)
        #expect(table.idleMark("m") == nil, "in flight: nothing to arm")
        time.withLockedValue { $0 = .seconds(12) }
        _ = table.release("m")
        let mark = try! #require(table.idleMark("m"))
        #expect(mark.since == .seconds(12))

        // A fast lease taken and given back after the timer was armed: the old timer must not unload.
        _ = table.tryAcquireFast("m", limit: 9)
        time.withLockedValue { $0 = .seconds(15) }
        _ = table.release("m")
        #expect(!table.closeIfIdle("m", since: mark.activity))
        #expect(table.tryAcquireFast("m", limit: 9) != nil, "still open")
        _ = table.release("m")

        // One held now: no unload either.
        let current = try! #require(table.idleMark("m"))
        #expect(current.since == .seconds(15))
        _ = table.tryAcquireFast("m", limit: 9)
        #expect(!table.closeIfIdle("m", since: current.activity + 1))
        _ = table.release("m")

        let latest = try! #require(table.idleMark("m"))
        #expect(table.closeIfIdle("m", since: latest.activity))
        #expect(table.tryAcquireFast("m", limit: 9) == nil, "closed in the same step")
    }

    @Test func markIdleOnlyWhenNothingIsInFlight() {
        let time = NIOLockedValueBox(Duration.seconds(1))
        let table = openTable(now: { time.withLockedValue { $0 } })
        #expect(table.idleMark("m") == nil)
        table.markIdle("m")
        #expect(table.idleMark("m")?.since == .seconds(1))
        _ = table.tryAcquireFast("m", limit: 9)
        time.withLockedValue { $0 = .seconds(2) }
        table.markIdle("m")
        #expect(table.idleMark("m") == nil)
    }

    @Test func statesShowPhasesAndCountsAsTheBoardReadsThem() {
        let table = LeaseTable()
        let board = ModelStateBoard(table: table)
        #expect(board.current.isEmpty)
        table.setPhase("a", .ready)
        table.open("a", at: LeaseTable.Open(address: address, run: 1))
        _ = table.tryAcquireFast("a", limit: 9)
        #expect(table.acquire("b", limit: 9))
        #expect(
            board.current == [
                "a": SelectorChoice.TargetState(phase: .ready, inFlight: 1),
                "b": SelectorChoice.TargetState(phase: nil, inFlight: 1),
            ])
        _ = table.release("b")
        table.remove("b")
        table.setPhase("a", .stopping)
        #expect(board.current == ["a": SelectorChoice.TargetState(phase: .stopping, inFlight: 1)])
        table.remove("a")
        #expect(table.inFlight("a") == 1, "an entry with requests in flight is kept")
    }

    @Test func concurrentFastAcquiresNeverExceedTheLimit() async {
        let table = openTable()
        let limit = 3
        let held = NIOLockedValueBox((now: 0, most: 0, granted: 0, over: 0))
        await onThreads(8) { _ in
            for _ in 0..<5_000 {
                guard table.tryAcquireFast("m", limit: limit) != nil else { continue }
                let inFlight = table.inFlight("m")
                held.withLockedValue {
                    $0.now += 1
                    $0.most = max($0.most, $0.now)
                    $0.granted += 1
                    if inFlight > limit { $0.over += 1 }
                }
                held.withLockedValue { $0.now -= 1 }
                _ = table.release("m")
            }
        }
        let result = held.withLockedValue { $0 }
        #expect(result.most <= limit)
        #expect(result.over == 0)
        #expect(result.granted > 0)
        #expect(table.inFlight("m") == 0)
    }
}
