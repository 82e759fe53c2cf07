import DurationMath
import NIOCore
import NIOSSL
import NIOTLS

/// Sits right behind the `NIOSSLClientHandler` of an https upstream connection and completes ``handshakeDone`` when
/// the TLS handshake has succeeded; it fails with ``UpstreamTLSError`` when the handshake fails, the connection
/// closes first, or `timeout` passes after the TCP connection (llama-swap's `timeouts.tlsHandshake`). The connector
/// reports a connection only once this is done, so a certificate the proxy does not trust is a failed connection
/// (502 before a commit), with the reason, not a broken answer.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: Duration?
    private let peer: String
    private var promise: EventLoopPromise<Void>?
    private var timer: Scheduled<Void>?
    /// Completed once: handshake done, or why not.
    private(set) var handshakeDone: EventLoopFuture<Void>!

    /// `peer` names the upstream in errors (`host:port`).
    init(timeout: Duration?, peer: String) {
        self.timeout = timeout
        self.peer = peer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.promise = promise
        handshakeDone = promise.futureResult
        if context.channel.isActive { armTimer(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        settle(.failure(UpstreamTLSError("the connection to \(peer) was torn down during the TLS handshake")))
    }

    func channelActive(context: ChannelHandlerContext) {
        armTimer(context: context)
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { settle(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settle(.failure(UpstreamTLSError("TLS handshake with \(peer) failed: \(error)")))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(.failure(UpstreamTLSError("\(peer) closed the connection during the TLS handshake")))
        context.fireChannelInactive()
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, promise != nil, let timeout else { return }
        let channel = context.channel
        let peer = self.peer
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            let message = "TLS handshake with \(peer) did not finish within \(timeout) (tlsHandshake)"
            self.settle(.failure(UpstreamTLSError(message)))
            channel.close(promise: nil)
        }
    }

    private func settle(_ result: Result<Void, any Error>) {
        guard let promise else { return }
        self.promise = nil
        timer?.cancel()
        timer = nil
        promise.completeWith(result)
    }
}

/// Why an https upstream connection could not be used; the text names the upstream and the reason.
struct UpstreamTLSError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
