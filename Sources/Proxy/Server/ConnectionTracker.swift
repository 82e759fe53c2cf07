import NIOConcurrencyHelpers
import NIOCore

/// Counts requests in flight and remembers open client connections, so that shutdown can wait for in-flight
/// requests (within a grace period) and then close whatever is left.
final class ConnectionTracker: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var inFlight = 0
        var idleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = NIOLockedValueBox(State())

    func opened(_ channel: any Channel) {
        state.withLockedValue { $0.channels[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLockedValue { _ = $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    func requestStarted() {
        state.withLockedValue { $0.inFlight += 1 }
    }

    func requestFinished() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.inFlight = max(0, state.inFlight - 1)
            guard state.inFlight == 0 else { return [] }
            defer { state.idleWaiters = [:] }
            return Array(state.idleWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Returns when no request is in flight (at once if none is), or after `timeout`, whichever comes first.
    func waitUntilIdle(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let id = state.withLockedValue { state -> Int? in
                if state.inFlight == 0 { return nil }
                state.nextWaiter += 1
                state.idleWaiters[state.nextWaiter] = continuation
                return state.nextWaiter
            }
            guard let id else {
                continuation.resume()
                return
            }
            Task { [state] in
                try? await Task.sleep(for: timeout)
                state.withLockedValue { $0.idleWaiters.removeValue(forKey: id) }?.resume()
            }
        }
    }

    /// Closes every open client connection.
    func closeAll() {
        let channels = state.withLockedValue { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}
