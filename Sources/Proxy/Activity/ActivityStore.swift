import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The recent relayed requests, newest last, for the activity endpoints: a bounded ring of ``LiveRequest``s (the
/// oldest leaves when a new one comes), and a byte budget for their captures like llama-swap's `captureBuffer`: when
/// finished captures hold more than ``captureBudget`` bytes, the oldest captures are dropped (their rows stay). One
/// capture holds at most ``captureLimit`` bytes (request body and upstream body together); past it, it is cut.
///
/// The defaults (4 MiB, 256 KiB each) are smaller than llama-swap's 10 MB because ours are not compressed: with 10 MiB
/// of raw captures, the 60 s CI soak measured the proxy's RSS 16.1 MiB above its warm-up (its bound is 16 MiB).
public final class ActivityStore: Sendable {
    /// How many requests are kept.
    public let capacity: Int
    /// Bytes all finished captures may hold together.
    public let captureBudget: Int
    /// Bytes one capture may hold; `0` turns captures off.
    public let captureLimit: Int

    private struct State {
        /// A ring (`CircularBuffer`): dropping the oldest of 500 on every request must not shift the other 499.
        var requests = CircularBuffer<LiveRequest>()
        /// Finished requests with a capture, oldest first, and the bytes they hold; `nil` where the request left the
        /// ring (a tombstone: removing from the middle would shift the entries behind it, hundreds per request when
        /// requests finish out of order). Tombstones at the front are removed at once, so each one waits at most
        /// until the live captures before it leave the ring.
        var captured = CircularBuffer<(request: LiveRequest?, size: Int)>()
        var capturedBytes = 0
    }
    private let state = NIOLockedValueBox(State())

    public static let defaultCapacity = 500
    public static let defaultCaptureBudget = 4 * 1024 * 1024
    public static let defaultCaptureLimit = 256 * 1024

    public init(
        capacity: Int = defaultCapacity, captureBudget: Int = defaultCaptureBudget,
        captureLimit: Int = defaultCaptureLimit
    ) {
        self.capacity = max(1, capacity)
        self.captureBudget = captureBudget
        self.captureLimit = min(captureLimit, captureBudget)
    }

    /// The store a config asks for: llama-swap's `metricsMaxInMemory` requests and `captureBuffer` MiB of captures
    /// (`0` turns captures off), each default ours when not set.
    public convenience init(settings config: ProxyConfig) {
        self.init(
            capacity: config.metricsMaxInMemory ?? Self.defaultCapacity,
            captureBudget: config.captureBufferMiB.map { $0 * 1024 * 1024 } ?? Self.defaultCaptureBudget,
            captureLimit: config.captureBufferMiB == 0 ? 0 : Self.defaultCaptureLimit)
    }

    /// A relayed request starts (on its connection's event loop).
    func begin(
        id: String, model: String, route: String, head: HTTPRequestHead, body: ByteBuffer, streaming: Bool,
        arrival: NIODeadline, eventLoop: any EventLoop
    ) -> LiveRequest {
        let request = LiveRequest(
            id: id, model: model, route: route, head: head, body: body, streaming: streaming, arrival: arrival,
            eventLoop: eventLoop,
            captureLimit: captureLimit > 0 ? captureLimit : nil)
        state.withLockedValue { state in
            state.requests.append(request)
            if state.requests.count > capacity {
                let gone = state.requests.removeFirst()
                gone.dropCapture()
                // Its capture leaves the budget too: a capture whose row is gone cannot be read, and the list must
                // not keep the whole record alive. Captures are listed in finishing order, so the oldest row's is
                // at or near the front. (Before this, 2-byte captures of small answers let the 4 MiB budget keep
                // about 2 million records: 4 KB of RSS per request, without end in practice.)
                if let index = state.captured.firstIndex(where: { $0.request === gone }) {
                    state.capturedBytes -= state.captured[index].size
                    state.captured[index] = (nil, 0)
                    while let first = state.captured.first, first.request == nil { state.captured.removeFirst() }
                }
            }
        }
        return request
    }

    /// `request` ended: its capture now counts against the budget, and older captures go until it fits.
    func finished(_ request: LiveRequest) {
        let size = request.captureSize
        guard size > 0 else { return }
        let dropped: [LiveRequest] = state.withLockedValue { state in
            // Left the ring meanwhile (its capture was dropped under this lock): nothing to keep.
            guard request.captureSize > 0 else { return [] }
            state.captured.append((request, size))
            state.capturedBytes += size
            var dropped: [LiveRequest] = []
            while state.capturedBytes > captureBudget, !state.captured.isEmpty {
                let oldest = state.captured.removeFirst()
                state.capturedBytes -= oldest.size
                if let request = oldest.request { dropped.append(request) }
            }
            return dropped
        }
        for request in dropped { request.dropCapture() }
    }

    /// The newest `limit` requests, newest first.
    func recent(limit: Int) -> [LiveRequest] {
        state.withLockedValue { Array($0.requests.suffix(max(0, limit)).reversed()) }
    }

    /// The newest request with this id.
    func request(id: String) -> LiveRequest? {
        state.withLockedValue { $0.requests.last { $0.id == id } }
    }

    /// Bytes held by finished captures.
    var capturedBytes: Int { state.withLockedValue { $0.capturedBytes } }

    /// Finished captures kept (tests: never more than the ring holds).
    var capturedCount: Int { state.withLockedValue { $0.captured.count { $0.request != nil } } }

    /// Entries of the capture list, tombstones included (tests: bounded).
    var capturedEntries: Int { state.withLockedValue { $0.captured.count } }
}
