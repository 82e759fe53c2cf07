import Testing

@testable import Proxy

/// The child-exit wait that a health poll races: it must give up the moment its task is cancelled (a task's
/// `value` cannot, and a poll that won the race then waited for the child to die — every start hung).
@Suite struct SupervisorChildExitSignalTests {
    @Test func waitersGetTheExitOnceItIsSet() async {
        let signal = ChildExitSignal()
        let waiter = Task { await signal.wait() }
        await Task.yield()
        signal.set(.exited(2))
        signal.set(.signaled(9))  // only the first exit counts
        #expect(await waiter.value == .exited(2))
        #expect(await signal.wait() == .exited(2), "a wait after the exit returns at once")
        #expect(signal.exit == .exited(2))
    }

    @Test func cancellingAWaitEndsItAtOnceWithoutAnExit() async {
        let signal = ChildExitSignal()
        let waiter = Task { await signal.wait() }
        await Task.yield()
        waiter.cancel()
        #expect(await waiter.value == nil)
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await signal.wait()
        }
        #expect(await cancelledFirst.value == nil)
        #expect(signal.exit == nil)
    }

    /// The race the health poll runs: the operation wins, and the group does not wait for the child.
    @Test func aRaceWonByTheOperationDoesNotWaitForTheExit() async {
        let signal = ChildExitSignal()
        let result = await withTaskGroup(of: Int?.self) { group in
            group.addTask { 7 }
            group.addTask {
                _ = await signal.wait()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(result == 7)
    }
}
