import Wire

/// What the relay needs from whoever runs the upstreams: a ready upstream for a model, held for one request.
///
/// The `Supervisor` implements it with real child processes (start on demand, swap, join a load, TTL); tests
/// implement it with a fixed address. Keeping the relay on this protocol keeps process management out of the byte
/// path.
public protocol UpstreamProvider: Sendable {
    /// Resolves `model` (an id or an alias) and returns a lease on a ready upstream, starting or swapping models as
    /// needed. The model counts as serving a request (never evicted, never TTL-unloaded) until the lease is
    /// released. `progress` receives human-readable loading steps while the caller waits (for `sendLoadingState`);
    /// it is called from any task and must not block.
    ///
    /// Throws ``UpstreamAcquireError``; cancellation of the calling task abandons the wait (the load goes on for
    /// other waiters).
    func acquire(
        model: String,
        progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease

    /// ``acquire(model:progress:)`` for a request routed with `pinned`: the model is resolved in that snapshot
    /// (`nil`: the provider's current one), so router and provider agree on the config a request sees.
    func acquire(
        model: String,
        pinned: ConfigSnapshot?,
        progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease

    /// A lease on `model` at once, without waiting, when the provider can grant it synchronously (the `Supervisor`:
    /// the model is ready, nothing is queued, and it serves fewer than `concurrencyLimit` requests); `nil` otherwise,
    /// and the caller asks ``acquire(model:pinned:progress:)``, which gives every other answer (a load, a swap, a
    /// 429). Never blocks beyond a short lock; callable from any thread, an event loop included.
    func tryAcquireReady(model: String, pinned: ConfigSnapshot?) -> UpstreamLease?
}

extension UpstreamProvider {
    /// Providers without configs of their own (fixed upstreams in tests) ignore the snapshot.
    public func acquire(
        model: String,
        pinned: ConfigSnapshot?,
        progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease {
        try await acquire(model: model, progress: progress)
    }

    /// Providers without a synchronous path (fixed upstreams in tests) always answer through `acquire`.
    public func tryAcquireReady(model: String, pinned: ConfigSnapshot?) -> UpstreamLease? { nil }
}

/// A ready upstream, reserved for one request until ``release()``.
public struct UpstreamLease: Sendable {
    /// The config's model id (aliases resolved).
    public var modelID: String
    /// Where to send the request.
    public var upstream: UpstreamURL
    /// `useModelName`: the name to put in the forwarded body's `model` field, if the body must be rewritten.
    public var forwardedModelName: String?
    private let onRelease: @Sendable () -> Void

    public init(
        modelID: String,
        upstream: UpstreamURL,
        forwardedModelName: String? = nil,
        onRelease: @escaping @Sendable () -> Void
    ) {
        self.modelID = modelID
        self.upstream = upstream
        self.forwardedModelName = forwardedModelName
        self.onRelease = onRelease
    }

    /// Ends the reservation: the request is done (answered, failed or abandoned). Call once; the `Supervisor`'s
    /// leases ignore a second call.
    public func release() { onRelease() }
}

/// One step of a model load, as `sendLoadingState` shows it to the client.
public struct LoadingProgress: Sendable, Hashable {
    public var modelID: String
    /// Short text such as "stopping model-a", "starting model-b", "waiting for health (12 s)".
    public var message: String

    public init(modelID: String, message: String) {
        self.modelID = modelID
        self.message = message
    }
}

/// Why no upstream could be had for a request; each case maps to the status and envelope clients get.
public enum UpstreamAcquireError: Error, Sendable, Hashable {
    /// No model or alias has this name (404).
    case unknownModel(String)
    /// The model's process failed to start or its health check timed out (502 / 504).
    case failed(UpstreamFailure)
    /// The model already serves `concurrencyLimit` requests (429, with Retry-After in seconds).
    case overConcurrencyLimit(model: String, limit: Int, retryAfterSeconds: Int)
    /// The proxy is shutting down (503).
    case shuttingDown

    /// The OpenAI error envelope for this error.
    public var openAIError: OpenAIError {
        switch self {
        case .unknownModel(let name):
            OpenAIError(message: "model '\(name)' is not configured", type: "not_found_error", code: 404)
        case .failed(let failure):
            failure.openAIError
        case .overConcurrencyLimit(let model, let limit, _):
            OpenAIError(
                message: "model '\(model)' is already serving \(limit) requests (concurrencyLimit); retry later",
                type: "rate_limit_error", code: 429)
        case .shuttingDown:
            OpenAIError(message: "the proxy is shutting down", type: "unavailable_error", code: 503)
        }
    }
}
