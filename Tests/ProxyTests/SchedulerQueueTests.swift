import Testing

@testable import Proxy

/// `routing.scheduler` FIFO with priority, as a value: ordering rules and one drain per case, with llama-swap's group
/// engine. `solo` models are in the default group (swap, exclusive: one at a time); `side` runs beside anything.
private let engine = SwapEngine.groups(
    SwapPlanner(groups: [
        GroupConfig(id: "(default)", members: ["a", "b", "c", "d"]),
        GroupConfig(id: "side", swap: false, exclusive: false, persistent: true, members: ["side"]),
    ]))

private typealias R = SwapPlanner.RunningModel

struct QueueOrderCase: CustomTestStringConvertible, Sendable {
    var name: String
    var priority: [String: Int]
    /// Arrivals, in order (ticket = position).
    var arrivals: [String]
    /// Service order as tickets.
    var expected: [Int]
    var testDescription: String { name }
}

struct DrainCase: CustomTestStringConvertible, Sendable {
    var name: String
    var priority: [String: Int]
    var arrivals: [String]
    var running: [SwapPlanner.RunningModel]
    var expected: [SchedulerQueue.Decision]
    /// Tickets still queued after the drain, in order.
    var left: [Int]
    var testDescription: String { name }
}

private func decision(_ ticket: Int, _ model: String, _ step: SchedulerQueue.Step) -> SchedulerQueue.Decision {
    SchedulerQueue.Decision(ticket: ticket, model: model, step: step, swapLine: nil)
}

@Suite struct SchedulerQueueTests {
    static let orderCases: [QueueOrderCase] = [
        QueueOrderCase(name: "no priorities: arrival order", priority: [:], arrivals: ["a", "b", "c"], expected: [0, 1, 2]),
        QueueOrderCase(
            name: "higher priority first", priority: ["c": 10, "b": 5], arrivals: ["a", "b", "c"], expected: [2, 1, 0]),
        QueueOrderCase(
            name: "equal priority keeps arrival order", priority: ["a": 5, "b": 5, "c": 5],
            arrivals: ["c", "a", "b", "a"], expected: [0, 1, 2, 3]),
        QueueOrderCase(
            name: "llama-swap example: A 10, B 5, C 5, D 1", priority: ["a": 10, "b": 5, "c": 5, "d": 1],
            arrivals: ["d", "c", "b", "a", "d", "b"], expected: [3, 1, 2, 5, 0, 4]),
        QueueOrderCase(
            name: "unlisted models are 0, negative below them", priority: ["a": -1, "b": 1],
            arrivals: ["a", "c", "b", "c"], expected: [2, 1, 3, 0]),
    ]

    @Test(arguments: orderCases) func serviceOrder(_ testCase: QueueOrderCase) {
        var queue = SchedulerQueue(priority: testCase.priority)
        for (ticket, model) in testCase.arrivals.enumerated() { queue.enqueue(ticket: ticket, model: model) }
        #expect(queue.waiters.map(\.ticket) == testCase.expected)
    }

    static let drainCases: [DrainCase] = [
        DrainCase(
            name: "nothing runs: the first waiter starts, the others wait behind the start", priority: ["c": 10],
            arrivals: ["b", "c"], running: [],
            expected: [decision(1, "c", .start), decision(0, "b", .wait(busy: ["c"], stopNow: []))], left: [0]),
        DrainCase(
            name: "a slot frees: the higher priority waiter makes room, the other waits behind", priority: ["c": 10],
            arrivals: ["b", "c"], running: [R(id: "a", phase: .ready)],
            expected: [decision(1, "c", .makeRoom(stopping: ["a"])), decision(0, "b", .wait(busy: ["a"], stopNow: []))],
            left: [1, 0]),
        DrainCase(
            name: "without priorities the first to arrive makes room", priority: [:],
            arrivals: ["b", "c"], running: [R(id: "a", phase: .ready)],
            expected: [decision(0, "b", .makeRoom(stopping: ["a"])), decision(1, "c", .wait(busy: ["a"], stopNow: []))],
            left: [0, 1]),
        DrainCase(
            name: "busy model: everyone waits, nothing stops", priority: ["c": 10],
            arrivals: ["b", "c"], running: [R(id: "a", phase: .ready, inFlight: 1)],
            expected: [
                decision(1, "c", .wait(busy: ["a"], stopNow: [])), decision(0, "b", .wait(busy: ["a"], stopNow: [])),
            ], left: [1, 0]),
        DrainCase(
            name: "waiters of the started model join it", priority: [:],
            arrivals: ["c", "b", "c"], running: [],
            expected: [
                decision(0, "c", .start), decision(1, "b", .wait(busy: ["c"], stopNow: [])),
                decision(2, "c", .admit(alsoStop: [])),
            ], left: [1]),
        DrainCase(
            name: "a blocked waiter does not block one that fits beside", priority: ["c": 10],
            arrivals: ["side", "c"], running: [R(id: "a", phase: .ready, inFlight: 2)],
            expected: [decision(1, "c", .wait(busy: ["a"], stopNow: [])), decision(0, "side", .start)], left: [1]),
        DrainCase(
            name: "ready model: admitted at once", priority: [:], arrivals: ["a"],
            running: [R(id: "a", phase: .ready, inFlight: 1)], expected: [decision(0, "a", .admit(alsoStop: []))],
            left: []),
        DrainCase(
            name: "a stopping model blocks everyone behind it", priority: ["b": 1],
            arrivals: ["c", "b"], running: [R(id: "a", phase: .stopping)],
            expected: [
                decision(1, "b", .wait(busy: ["a"], stopNow: [])), decision(0, "c", .wait(busy: ["a"], stopNow: [])),
            ], left: [1, 0]),
    ]

    @Test(arguments: drainCases) func drain(_ testCase: DrainCase) {
        var queue = SchedulerQueue(priority: testCase.priority)
        for (ticket, model) in testCase.arrivals.enumerated() { queue.enqueue(ticket: ticket, model: model) }
        let decisions = queue.drain(running: testCase.running, engine: engine)
        #expect(decisions == testCase.expected)
        #expect(queue.waiters.map(\.ticket) == testCase.left)
    }

    /// A whole hand-off, step by step as the supervisor performs it: a serves; b (0) then c (10) queue; a's request
    /// ends; c makes room, starts, serves; only when c's request ends does b get its turn.
    @Test func higherPriorityTakesTheFreedSlotAndTheOtherWaitsForIt() {
        var queue = SchedulerQueue(priority: ["c": 10])
        queue.enqueue(ticket: 1, model: "b")
        queue.enqueue(ticket: 2, model: "c")
        let a = R(id: "a", phase: .ready, inFlight: 1)
        #expect(
            queue.drain(running: [a], engine: engine) == [
                decision(2, "c", .wait(busy: ["a"], stopNow: [])), decision(1, "b", .wait(busy: ["a"], stopNow: [])),
            ])
        // a's request ends: c makes room.
        var decisions = queue.drain(running: [R(id: "a", phase: .ready)], engine: engine)
        #expect(decisions.first == decision(2, "c", .makeRoom(stopping: ["a"])))
        // a stopped: c starts, b waits behind c.
        decisions = queue.drain(running: [], engine: engine)
        #expect(decisions == [decision(2, "c", .start), decision(1, "b", .wait(busy: ["c"], stopNow: []))])
        // c ready and serving: b still waits.
        decisions = queue.drain(running: [R(id: "c", phase: .ready, inFlight: 1)], engine: engine)
        #expect(decisions == [decision(1, "b", .wait(busy: ["c"], stopNow: []))])
        // c's request ends: b makes room.
        decisions = queue.drain(running: [R(id: "c", phase: .ready)], engine: engine)
        #expect(decisions == [decision(1, "b", .makeRoom(stopping: ["c"]))])
    }

    @Test func removeAndRequeueKeepArrivalOrderAmongEquals() {
        var queue = SchedulerQueue()
        for ticket in 0..<4 { queue.enqueue(ticket: ticket, model: "a") }
        queue.remove(ticket: 1)
        queue.enqueue(ticket: 1, model: "a")
        queue.enqueue(ticket: 2, model: "a")  // already queued: stays where it is
        #expect(queue.waiters.map(\.ticket) == [0, 1, 2, 3])
    }

    @Test func reloadedPrioritiesReorderTheQueue() {
        var queue = SchedulerQueue(priority: ["a": 5])
        queue.enqueue(ticket: 0, model: "b")
        queue.enqueue(ticket: 1, model: "a")
        queue.enqueue(ticket: 2, model: "c")
        #expect(queue.waiters.map(\.ticket) == [1, 0, 2])
        queue.updatePriority(["c": 1])
        #expect(queue.waiters.map(\.ticket) == [2, 0, 1])
        #expect(queue.waiters.map(\.priority) == [1, 0, 0])
    }
}
