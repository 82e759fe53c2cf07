/// How a ``RequestRelay`` obtains its upstream lease (queue, load, swap), with every callback on the relay's event
/// loop.
///
/// Why not the ``UpstreamProvider`` directly: the provider is async, so its answer comes from another thread and
/// hops back with `eventLoop.execute`. That is right in production, but a test that drives the relay's clock on an
/// `EmbeddedEventLoop` (single-threaded by contract) must deliver progress and the lease itself, at the driven
/// time it chooses. Production uses ``ProviderLeaseRequester``.
protocol LeaseRequester {
    /// Starts acquiring an upstream for `model`. `progress` may be called any number of times, then `completion`
    /// exactly once (unless cancelled), all on the loop the relay runs on. Returns a function that abandons the wait.
    func requestLease(
        model: String,
        progress: @escaping (LoadingProgress) -> Void,
        completion: @escaping (Result<UpstreamLease, UpstreamAcquireError>) -> Void
    ) -> () -> Void
}
