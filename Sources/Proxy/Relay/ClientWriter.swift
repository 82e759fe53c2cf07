import NIOCore
import NIOHTTP1

/// The one way bytes reach a client: the connection handler's context, used only on the connection's event loop.
///
/// Every writer of a response — upstream bytes, heartbeats, loading messages, in-band errors — goes through the
/// ``RequestRelay`` that owns this, so no second writer can interleave bytes with it.
protocol ClientWriter: AnyObject {
    /// Writes one response part; flushes it unless `flush` is false (then a later ``flush()`` or the response's end
    /// sends it). An end is always flushed.
    func write(_ part: HTTPServerResponsePart, flush: Bool)
    /// Sends every part written so far.
    func flush()
    /// Whether the client's socket accepts more bytes without queueing (backpressure).
    var isWritable: Bool { get }
    /// Closes the client connection (used to show a truncated upstream body as truncated).
    func closeConnection()
    /// The response is complete; the connection may serve the next request.
    func responseCompleted()
    /// What the relay saw besides its writes, for the request's activity record (``RelayObservation``).
    func observe(_ observation: RelayObservation)
    /// The upstream answered an upgrade request with `101`: write `head`, then join this connection and `upstream`
    /// byte for byte (``TunnelHandler``); `onClose` runs once when the tunnel ends.
    func switchProtocols(_ head: HTTPResponseHead, upstream: any Channel, onClose: @escaping () -> Void)
}

extension ClientWriter {
    /// Writes and flushes one response part.
    func write(_ part: HTTPServerResponsePart) { write(part, flush: true) }

    /// Writers that cannot tunnel (test writers) close both sides.
    func switchProtocols(_ head: HTTPResponseHead, upstream: any Channel, onClose: @escaping () -> Void) {
        upstream.close(promise: nil)
        closeConnection()
        onClose()
    }
}
