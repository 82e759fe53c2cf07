import NIOConcurrencyHelpers

/// A value behind a lock that async code can wait on: `wait(timeout:until:)` resumes as soon as an `update` makes
/// the predicate true, so tests wait for events instead of sleeping and polling.
///
/// A lock (not an actor) because updates come synchronously from event loops, which must never await.
public final class WatchedValue<Value: Sendable>: Sendable {
    private struct Waiter {
        var predicate: @Sendable (Value) -> Bool
        var continuation: CheckedContinuation<Value, any Error>
        var timeout: Task<Void, Never>?
    }

    private struct State {
        var value: Value
        var waiters: [Int: Waiter] = [:]
        var nextWaiterID = 0
    }

    private let state: NIOLockedValueBox<State>

    public init(_ value: Value) {
        self.state = NIOLockedValueBox(State(value: value))
    }

    /// The current value.
    public var value: Value { state.withLockedValue { $0.value } }

    /// Mutates the value, then wakes every waiter whose predicate now holds.
    @discardableResult
    public func update<Result>(_ body: (inout Value) -> Result) -> Result {
        let (result, ready) = state.withLockedValue { state -> (Result, [(Waiter, Value)]) in
            let result = body(&state.value)
            guard !state.waiters.isEmpty else { return (result, []) }
            var ready: [(Waiter, Value)] = []
            for (id, waiter) in state.waiters where waiter.predicate(state.value) {
                state.waiters[id] = nil
                ready.append((waiter, state.value))
            }
            return (result, ready)
        }
        for (waiter, value) in ready {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: value)
        }
        return result
    }

    /// Waits until `predicate` holds for the value (checked now and after every update) and returns that value.
    /// Throws `WaitTimeout` after `timeout`, or `CancellationError` if the waiting task is cancelled. The predicate
    /// runs under the lock: it must only look at the value it is given.
    public func wait(
        timeout: Duration,
        what: String,
        until predicate: @escaping @Sendable (Value) -> Bool
    ) async throws -> Value {
        let id = state.withLockedValue { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                let satisfied: Value? = state.withLockedValue { state in
                    if predicate(state.value) { return state.value }
                    state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                    return nil
                }
                if let satisfied {
                    continuation.resume(returning: satisfied)
                    return
                }
                let timer = Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    guard !Task.isCancelled else { return }
                    self?.fail(id, with: WaitTimeout(what: what, timeout: timeout))
                }
                let stillWaiting = state.withLockedValue { state in
                    guard state.waiters[id] != nil else { return false }
                    state.waiters[id]?.timeout = timer
                    return true
                }
                if !stillWaiting { timer.cancel() }
            }
        } onCancel: {
            self.fail(id, with: CancellationError())
        }
    }

    private func fail(_ id: Int, with error: any Error) {
        let waiter = state.withLockedValue { state in state.waiters.removeValue(forKey: id) }
        waiter?.timeout?.cancel()
        waiter?.continuation.resume(throwing: error)
    }
}

/// A wait for a condition that did not come true in time; says what was awaited and for how long.
public struct WaitTimeout: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was awaited, in words.
    public var what: String
    /// How long the wait lasted.
    public var timeout: Duration

    /// The message a user reads.
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}
