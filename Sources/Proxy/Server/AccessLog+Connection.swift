import Logging
import NIOCore
import NIOHTTP1

/// The connection's side of the per-request stats (``RequestStats``): one-line hooks in ``ProxyConnectionHandler``
/// call these, so the handler's own code stays about HTTP.
extension ProxyConnectionHandler {
    /// `request` with its id in `X-Request-Id`, as the upstream receives it.
    func withRequestID(_ request: ProxyRequest) -> ProxyRequest {
        guard let id = requestStats?.id else { return request }
        var request = request
        request.head.headers.replaceOrAdd(name: "X-Request-Id", value: id)
        return request
    }

    /// A relayed request for `model` starts.
    func relayStarted(model: String) {
        requestStats?.model = model
        requestStats?.relayed = true
        router.metrics.relayStarted(model: model)
    }

    /// A response part is written at `now`: counted, and the head carries the request id back.
    func recordWrite(_ part: inout HTTPServerResponsePart, at now: NIODeadline) {
        guard requestStats != nil else { return }
        if case .head(var head) = part, let id = requestStats?.id {
            head.headers.replaceOrAdd(name: "X-Request-Id", value: id)
            part = .head(head)
        }
        requestStats?.wrote(part, at: now)
        requestStats?.activity?.clientWrote(part, at: now)
    }

    /// The request ended: metrics and the access log line, once. `clientGone`: the connection closed, which before
    /// the response's end means the client left first.
    func reportRequest(heartbeats: HeartbeatStats?, clientGone: Bool, at now: NIODeadline) {
        guard var stats = requestStats else { return }
        requestStats = nil
        stats.clientGoneEarly = clientGone && !stats.responseEnded
        stats.heartbeats = heartbeats
        stats.duration = stats.elapsed(at: now)
        stats.activity?.finished(stats)
        if let activity = stats.activity { router.activity.finished(activity) }
        router.metrics.requestEnded(stats)
        AccessLog.write(stats, to: logger)  // its line carries `request`
    }
}
