import NIOCore

/// The connection's side of the activity record: one-line hooks in ``ProxyConnectionHandler`` (a relayed request
/// starts) and the relay's observations (``ClientWriter/observe(_:)``) land here, on the connection's event loop.
extension ProxyConnectionHandler {
    /// A relayed request starts: its live record joins the router's ``ActivityStore``.
    func activityStarted(_ request: ProxyRequest, settings: RelaySettings, eventLoop: any EventLoop) {
        guard let stats = requestStats else { return }
        requestStats?.activity = router.activity.begin(
            id: stats.id, model: settings.requestedModel, route: stats.route, head: request.head, body: request.body,
            streaming: settings.stream, arrival: stats.arrival, eventLoop: eventLoop)
    }

    /// What the relay saw: the upstream body's tail is kept for its tokens (read once, when the body ends), and
    /// everything goes to the live record.
    func observe(_ observation: RelayObservation) {
        guard requestStats != nil else { return }
        switch observation {
        case .upstreamPart(.body(let buffer)):
            // Through a pointer: appending a `ByteBufferView` to an array goes byte by byte through its iterator.
            buffer.withUnsafeReadableBytes { requestStats?.upstreamTail.append($0) }
        case .upstreamPart(.end):
            let tokens = requestStats.flatMap { TokenCounts.read(tail: $0.upstreamTail.bytes) }
            requestStats?.tokens = tokens
            requestStats?.activity?.tokensRead(tokens)
        default:
            break
        }
        requestStats?.activity?.relayObserved(observation)
    }
}
