import NIOCore

/// The production ``LeaseRequester``: a ready model's lease at once, on the loop (``UpstreamProvider/
/// tryAcquireReady(model:pinned:)``); any other answer from the ``UpstreamProvider`` (the supervisor) in a task,
/// brought back to the relay's event loop.
///
/// Why the synchronous path: for a model that is already ready, a `Task`, a hop to the supervisor actor and a hop
/// back cost more proxy CPU than the rest of a small request (issue 11); the supervisor's ``LeaseTable`` grants that
/// lease under a lock with the same rules.
struct ProviderLeaseRequester: LeaseRequester {
    let provider: any UpstreamProvider
    let eventLoop: any EventLoop
    /// The snapshot the request was routed with, handed to the provider (`nil`: the provider's current one).
    var pinned: ConfigSnapshot? = nil

    /// Must be called on `eventLoop` (the callbacks are bound to it). A lease granted synchronously reaches
    /// `completion` before this returns (``RequestRelay`` expects that), and the returned cancel does nothing.
    func requestLease(
        model: String,
        progress: @escaping (LoadingProgress) -> Void,
        completion: @escaping (Result<UpstreamLease, UpstreamAcquireError>) -> Void
    ) -> () -> Void {
        eventLoop.preconditionInEventLoop()
        if let lease = provider.tryAcquireReady(model: model, pinned: pinned) {
            completion(.success(lease))
            return {}
        }
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
