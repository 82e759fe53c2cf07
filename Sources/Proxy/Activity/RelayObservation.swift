import NIOHTTP1

/// What a ``RequestRelay`` tells its connection about a request besides the bytes it writes: the request went
/// upstream, a part of the upstream's answer arrived, the heartbeat policy decided something. The connection feeds
/// these to the request's live activity record (``LiveRequest``) and its stats; one-line hooks in the relay call
/// ``ClientWriter/observe(_:)``.
enum RelayObservation {
    /// The request was written to the upstream.
    case requestSent
    /// A part of the upstream's response, as the relay received it (before anything is forwarded).
    case upstreamPart(HTTPClientResponsePart)
    /// An action of the heartbeat policy, before the relay performs it.
    case action(HeartbeatAction)
}

extension ClientWriter {
    /// Writers that record nothing (tests' fakes) ignore observations.
    func observe(_ observation: RelayObservation) {}
}
