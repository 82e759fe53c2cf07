import NIOConcurrencyHelpers

/// A child's exit once it is known, and waits for it that a cancelled task abandons at once (a task's `value`
/// cannot be abandoned: a task group racing it against a health poll would wait for the child to die).
final class ChildExitSignal: Sendable {
    private struct State {
        var exit: ChildExit?
        var waiters: [Int: CheckedContinuation<ChildExit?, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = NIOLockedValueBox(State())

    /// The exit, once known.
    var exit: ChildExit? { state.withLockedValue { $0.exit } }

    /// Records the exit (the first one counts) and wakes every waiter.
    func set(_ exit: ChildExit) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<ChildExit?, Never>] in
            guard state.exit == nil else { return [] }
            state.exit = exit
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: exit) }
    }

    /// The exit once known, or `nil` as soon as the calling task is cancelled.
    func wait() async -> ChildExit? {
        let id = state.withLockedValue { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ChildExit?, Never>) in
                let now = state.withLockedValue { state -> ChildExit?? in
                    if let exit = state.exit { return .some(exit) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if case .some(let result) = now { continuation.resume(returning: result) }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}
