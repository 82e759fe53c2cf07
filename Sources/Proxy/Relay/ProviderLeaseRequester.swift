import NIOCore

/// The production ``LeaseRequester``: asks the ``UpstreamProvider`` (the supervisor) in a task and brings every
/// answer back to the relay's event loop.
struct ProviderLeaseRequester: LeaseRequester {
    let provider: any UpstreamProvider
    let eventLoop: any EventLoop
    /// The snapshot the request was routed with, handed to the provider (`nil`: the provider's current one).
    var pinned: ConfigSnapshot? = nil

    /// Must be called on `eventLoop` (the callbacks are bound to it).
    func requestLease(
        model: String,
        progress: @escaping (LoadingProgress) -> Void,
        completion: @escaping (Result<UpstreamLease, UpstreamAcquireError>) -> Void
    ) -> () -> Void {
        let loop = eventLoop
        let boundProgress = NIOLoopBound(progress, eventLoop: loop)
        let boundCompletion = NIOLoopBound(completion, eventLoop: loop)
        let provider = self.provider
        let pinned = self.pinned
        let task = Task {
            let result: Result<UpstreamLease, UpstreamAcquireError>
            do throws(UpstreamAcquireError) {
                result = .success(
                    try await provider.acquire(model: model, pinned: pinned) { step in
                        loop.execute { boundProgress.value(step) }
                    })
            } catch {
                result = .failure(error)
            }
            loop.execute { boundCompletion.value(result) }
        }
        return { task.cancel() }
    }
}
