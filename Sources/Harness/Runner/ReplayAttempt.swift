import NIOCore
import RawHTTP

/// What the replay client saw during one request: every read with its monotonic time, and how it ended.
public struct ReplayAttempt: Sendable {
    /// One read from the socket.
    public struct Read: Sendable, Hashable {
        /// When it arrived (monotonic).
        public var at: NIODeadline
        /// The bytes, exactly as read.
        public var bytes: [UInt8]
        /// The response head became complete with this read.
        public var completedHead: Bool
        /// Body bytes it carried, de-framed.
        public var body: [UInt8]
    }

    /// How the attempt ended.
    public enum End: Sendable, Hashable {
        /// The whole response arrived.
        case complete
        /// The profile's timer fired; the client closed the connection.
        case timedOut(TimeoutRule)
        /// The peer closed (`fin`) or reset (`reset`) before the response was complete, or the connection failed.
        case closed(String)
        /// The run's observation limit stopped the client.
        case observationLimit
    }

    /// When the request's last byte was handed to the socket.
    public var sentAt: NIODeadline
    /// The reads, in order.
    public var reads: [Read]
    /// How it ended.
    public var end: End
    /// When it ended (the client's close, the peer's close, or the completing read).
    public var endedAt: NIODeadline
    /// When the client closed its side, if it did (on completion or give-up).
    public var clientClosedAt: NIODeadline?
    /// The deadline that was pending at the end (the one that fired, for a timeout).
    public var lastDeadline: ClientTimeoutClock.Deadline?
    /// The final response head, if it arrived.
    public var head: DecodedHead?
}
