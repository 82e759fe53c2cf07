import Proxy

/// An upstream provider that leases one fixed address at once and counts releases: the router and relay tests need
/// a provider, not a supervisor.
final class FixedUpstreamProvider: UpstreamProvider {
    let upstream: UpstreamURL

    init(upstream: UpstreamURL = UpstreamURL(host: "127.0.0.1", port: 9, basePath: "")) {
        self.upstream = upstream
    }

    func acquire(
        model: String,
        progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease {
        UpstreamLease(modelID: model, upstream: upstream, onRelease: {})
    }
}
