import NIOConcurrencyHelpers
import NIOCore

/// Named latches that responses wait on (`gate` steps) and tests release.
///
/// A release is permanent: a connection reaching an already released gate passes at once, and one release wakes
/// every connection waiting on that name. Waiters are callbacks, never blocked threads.
final class GateRegistry: Sendable {
    /// Identifies one registered wait, so a connection that goes away can withdraw it.
    struct Token: Hashable, Sendable {
        var name: String
        fileprivate var id: Int
    }

    /// The answer to `wait`: either go on now, or a callback will come.
    enum Wait: Sendable {
        case released
        case waiting(Token)
    }

    private struct State {
        var released: Set<String> = []
        var waiters: [String: [Int: @Sendable (NIODeadline) -> Void]] = [:]
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Registers `onRelease` for `name` unless the gate is already released. The callback gets the release time,
    /// on whatever thread released the gate; callers hop to their own event loop.
    func wait(for name: String, onRelease: @escaping @Sendable (NIODeadline) -> Void) -> Wait {
        state.withLockedValue { state in
            if state.released.contains(name) { return .released }
            let id = state.nextID
            state.nextID += 1
            state.waiters[name, default: [:]][id] = onRelease
            return .waiting(Token(name: name, id: id))
        }
    }

    /// Withdraws a wait; its callback will not be called.
    func cancel(_ token: Token) {
        state.withLockedValue { state in _ = state.waiters[token.name]?.removeValue(forKey: token.id) }
    }

    /// Releases `name` for good and wakes everyone waiting on it.
    func release(_ name: String) {
        let now = NIODeadline.now()
        let callbacks = state.withLockedValue { state in
            state.released.insert(name)
            return state.waiters.removeValue(forKey: name).map { Array($0.values) } ?? []
        }
        for callback in callbacks { callback(now) }
    }

    /// Whether `name` has been released.
    func isReleased(_ name: String) -> Bool {
        state.withLockedValue { $0.released.contains(name) }
    }
}
