import NIOConcurrencyHelpers

/// The recent log lines of the proxy and of every upstream process, for `GET /logs` and `GET /logs/stream`.
///
/// A bounded ring: memory stays fixed however chatty an upstream is (llama-server logs every request). Live readers
/// get their own bounded buffer and lose the oldest unread lines when they fall behind, so a slow `/logs/stream`
/// client can never make the proxy grow.
public final class LogBuffer: Sendable {
    /// Lines kept for `snapshot()`.
    public let capacity: Int
    /// Lines a live reader may fall behind before it loses the oldest unread ones.
    public let subscriberBufferSize: Int

    private struct State {
        var ring: [String] = []
        /// Where the oldest line is once the ring is full.
        var head = 0
        var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
        var nextSubscriberID = 0
        var droppedForSubscribers = 0
        /// After ``close()``: new readers get an ended stream.
        var closed = false
    }

    private let state = NIOLockedValueBox(State())
    /// Gets every upstream process's line as it printed it (llama-swap's `logToStdout: upstream`).
    private let upstreamMirror: (@Sendable (String) -> Void)?

    /// - Parameters:
    ///   - capacity: lines kept for `snapshot()` (at least 1).
    ///   - subscriberBufferSize: lines buffered per live reader (at least 1).
    ///   - upstreamMirror: called with each line an upstream process printed (not the proxy's own), outside the lock.
    public init(
        capacity: Int = 5_000, subscriberBufferSize: Int = 1_000, upstreamMirror: (@Sendable (String) -> Void)? = nil
    ) {
        self.capacity = max(1, capacity)
        self.subscriberBufferSize = max(1, subscriberBufferSize)
        self.upstreamMirror = upstreamMirror
    }

    /// The source name of the proxy's own lines.
    public static let proxySource = "proxy"

    /// Adds one line (without its line break) and hands it to every live reader.
    public func append(_ line: String) {
        let readers = state.withLockedValue { state in
            if state.ring.count < capacity {
                state.ring.append(line)
            } else {
                state.ring[state.head] = line
                state.head = (state.head + 1) % capacity
            }
            return Array(state.subscribers.values)
        }
        // Outside the lock: a stream's termination handler takes the lock again.
        var dropped = 0
        for reader in readers {
            if case .dropped = reader.yield(line) { dropped += 1 }
        }
        if dropped > 0 { state.withLockedValue { $0.droppedForSubscribers += dropped } }
    }

    /// Adds a line from `source` (a model id, or `proxy`) as `[source] line`, the form `/logs` shows.
    public func append(_ line: String, source: String) {
        append("[\(source)] \(line)")
        if source != Self.proxySource { upstreamMirror?(line) }
    }

    /// The kept lines, oldest first.
    public func snapshot() -> [String] {
        state.withLockedValue { state in
            Array(state.ring[state.head...] + state.ring[..<state.head])
        }
    }

    /// Lines appended from now on, as they come. With `includeHistory`, the kept lines come first (for a reader that
    /// wants `GET /logs` and the live tail without a gap or a repeat). The stream ends when the reader stops iterating
    /// or `finishSubscribers()` is called.
    public func subscribe(includeHistory: Bool = false) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: String.self, bufferingPolicy: .bufferingNewest(subscriberBufferSize))
        let id = state.withLockedValue { state -> Int? in
            let id = state.nextSubscriberID
            state.nextSubscriberID += 1
            if includeHistory {
                for line in state.ring[state.head...] + state.ring[..<state.head] { continuation.yield(line) }
            }
            if state.closed { return nil }
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLockedValue { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// How many live readers are subscribed (for tests and `/running`-style diagnostics).
    public var subscriberCount: Int { state.withLockedValue { $0.subscribers.count } }

    /// Lines live readers lost because they were too slow, in total.
    public var droppedForSubscribers: Int { state.withLockedValue { $0.droppedForSubscribers } }

    /// Ends every live stream (at shutdown, so `/logs/stream` responses complete).
    public func finishSubscribers() {
        let readers = state.withLockedValue { state in
            let readers = Array(state.subscribers.values)
            state.subscribers.removeAll()
            return readers
        }
        for reader in readers { reader.finish() }
    }

    /// Ends every live stream and refuses new ones (they end at once): the proxy is shutting down, and a
    /// `/logs/stream` reader must not hold it up. Lines are still kept for `snapshot()`.
    public func close() {
        state.withLockedValue { $0.closed = true }
        finishSubscribers()
    }
}
