import Wire

/// What the relay must do next for one client, as decided by ``HeartbeatPolicy``.
///
/// The relay performs a returned list in order, on the client connection's event loop, and reports what happened
/// back to the policy. Writing bytes the policy asked for needs no report: the policy counts its own actions as
/// bytes sent.
public enum HeartbeatAction: Sendable, Hashable {
    /// Arm the request's single heartbeat timer to call ``HeartbeatPolicy/timerFired(now:)`` at this time since the
    /// request arrived, replacing any armed one. A time already past means: fire at once.
    case schedule(at: Duration)
    /// Disarm the heartbeat timer; the policy will not need it again.
    case cancelTimer
    /// Arm the request's single upstream-bound timer (``UpstreamTimeBounds``) to call
    /// ``HeartbeatPolicy/boundTimerFired(now:)`` at this time since the request arrived, replacing any armed one.
    /// Separate from the heartbeat timer: the two deadlines move for different reasons (client bytes vs upstream
    /// reads).
    case scheduleBound(at: Duration)
    /// Disarm the upstream-bound timer.
    case cancelBoundTimer
    /// Nothing was sent yet and the client has been silent for an interval: write the ``CommittedStreamHead``
    /// (`200`, `text/event-stream`, chunked) and then one heartbeat. From now on the proxy owns the response head.
    case commitHeadersAndHeartbeat
    /// Write one heartbeat (``SSEHeartbeat/bytes(after:)`` with the relay's boundary tracker).
    case sendHeartbeat
    /// A heartbeat was due but the upstream stopped inside an event; nothing is written. Log it.
    case withhold
    /// Write the upstream's status line and headers as they are: the client gets the upstream's real answer.
    case forwardUpstreamHead
    /// The proxy already committed a `200` event stream: drop the upstream's head and forward only its body.
    case discardUpstreamHead
    /// The upstream answered with an error status after the proxy committed `200`: do not forward its body; collect
    /// it (bounded; the start is enough for the message) and report it with
    /// ``HeartbeatPolicy/upstreamErrorBodyCollected(_:now:)`` when the upstream ends.
    case collectUpstreamErrorBody(status: Int)
    /// Write `error` as one SSE event (``OpenAIError/sseEvent``), preceded by the boundary tracker's
    /// ``SSEBoundaryTracker/bytesClosingCurrentEvent`` so that it never merges with a partial upstream event.
    case sendInBandError(OpenAIError)
    /// Nothing was committed: answer with `error.code` as the status and ``OpenAIError/json`` as the body.
    case passThroughError(OpenAIError)
    /// End the client response cleanly (the terminating chunk), keeping the connection if the client wants it.
    case finish
    /// The upstream's own head went out and its body broke off: close the client connection without ending the
    /// body (no terminating chunk), so that a generic HTTP client sees the truncation as it would from the upstream
    /// itself. When the break came between events, a ``sendInBandError(_:)`` precedes this, so SDK clients get an
    /// error with a message too.
    case abortClient
    /// Close the upstream connection: its answer is no longer wanted (the client left, or it cannot be forwarded).
    case closeUpstream
}

/// The head the proxy sends when it commits a response before the upstream answered.
///
/// `no-transform` and `X-Accel-Buffering: no` keep proxies in front of us from buffering or compressing the stream;
/// the body is chunked because its length is unknown.
public enum CommittedStreamHead {
    public static let status = 200
    public static let headers: [(name: String, value: String)] = [
        ("Content-Type", "text/event-stream"),
        ("Cache-Control", "no-cache, no-transform"),
        ("X-Accel-Buffering", "no"),
        ("Transfer-Encoding", "chunked"),
    ]

    /// Whether a `Content-Type` value names an SSE body (`text/event-stream`, parameters and case ignored).
    /// Read byte by byte (ASCII case folding, blanks skipped up to the first `;`): every response head asks, and the
    /// `Character`-level split, filter and `lowercased()` it replaced cost 1.5 % of a small request's CPU.
    public static func isEventStream(contentType: String?) -> Bool {
        guard let contentType else { return false }
        var matched = 0
        for byte in contentType.utf8 {
            if byte == UInt8(ascii: ";") { break }
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { continue }
            let lower = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
            guard matched < eventStreamMediaType.count, eventStreamMediaType[matched] == lower else { return false }
            matched += 1
        }
        return matched == eventStreamMediaType.count
    }

    private static let eventStreamMediaType = Array("text/event-stream".utf8)
}
