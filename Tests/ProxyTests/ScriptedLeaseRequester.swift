import NIOConcurrencyHelpers

@testable import Proxy

/// A ``LeaseRequester`` the test answers: at once (the model is ready), or — with `hold` — only when the test calls
/// ``progress(_:)``, ``grant()`` or ``fail(_:)``, at the driven time it chooses. Counts releases and cancellations, so
/// a test can tell that a request gave its model back exactly once.
final class ScriptedLeaseRequester: LeaseRequester {
    let upstream: UpstreamURL
    let hold: Bool
    /// `useModelName`: the name the leases ask the relay to put in the forwarded body.
    var forwardedModelName: String?
    private var pending: (progress: (LoadingProgress) -> Void, completion: (Result<UpstreamLease, UpstreamAcquireError>) -> Void)?
    /// Lease releases (thread-safe: `release` is `@Sendable`).
    let releases = NIOLockedValueBox(0)
    private(set) var cancellations = 0

    init(upstream: UpstreamURL, hold: Bool) {
        self.upstream = upstream
        self.hold = hold
    }

    func requestLease(
        model: String,
        progress: @escaping (LoadingProgress) -> Void,
        completion: @escaping (Result<UpstreamLease, UpstreamAcquireError>) -> Void
    ) -> () -> Void {
        guard hold else {
            completion(.success(lease(model)))
            return {}
        }
        pending = (progress, completion)
        return { [weak self] in
            self?.cancellations += 1
            self?.pending = nil
        }
    }

    /// A loading step, as the supervisor reports it while a model starts.
    func progress(_ message: String) throws {
        guard let pending else { throw RigError("no lease request is waiting") }
        pending.progress(LoadingProgress(modelID: DrivenRelayRig.modelID, message: message))
    }

    /// The model is ready: hand out the lease.
    func grant() throws {
        guard let pending else { throw RigError("no lease request is waiting") }
        self.pending = nil
        pending.completion(.success(lease(DrivenRelayRig.modelID)))
    }

    /// The model could not be had.
    func fail(_ error: UpstreamAcquireError) throws {
        guard let pending else { throw RigError("no lease request is waiting") }
        self.pending = nil
        pending.completion(.failure(error))
    }

    var isWaiting: Bool { pending != nil }

    private func lease(_ model: String) -> UpstreamLease {
        let releases = self.releases
        return UpstreamLease(
            modelID: model, upstream: upstream, forwardedModelName: forwardedModelName, onRelease: { releases.withLockedValue { $0 += 1 } })
    }
}
