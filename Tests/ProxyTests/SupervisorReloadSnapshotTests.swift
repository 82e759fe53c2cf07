import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy

/// SIGHUP swaps one snapshot that the router and the supervisor both read: a request sees the old config or the new
/// one, for both, never a mix (issue 12: the router's config and the supervisor's used to be replaced one after the
/// other, with an await in between).
@Suite struct SupervisorReloadSnapshotTests {
    /// Config A and B differ in everything a request reads from both sides: heartbeat (router), `useModelName`
    /// (supervisor), and which models exist.
    static let configA = config(heartbeat: 1, useModelName: "from-a", extra: "only-a")
    static let configB = config(heartbeat: 2, useModelName: "from-b", extra: "only-b")

    /// Routed under A, reloaded to B before the supervisor is asked: the supervisor must answer as A did.
    @Test func requestRoutedBeforeAReloadIsServedUnderTheSameConfig() async throws {
        let (router, supervisor) = Self.proxy()
        guard case .relay(let settings) = router.decide(Self.request("m")),
            case .relay(let onlyA) = router.decide(Self.request("only-a"))
        else {
            Issue.record("A routes m and only-a")
            return
        }
        await supervisor.reload(Self.configB)
        #expect(router.config.models["only-b"] != nil, "the router sees B at once")

        let lease = try await supervisor.acquire(model: "m", pinned: settings.snapshot, progress: { _ in })
        #expect(settings.heartbeatInterval == .seconds(1) && lease.forwardedModelName == "from-a")
        lease.release()
        // A model that B removed still serves the request routed under A, then stops.
        let removed = try await supervisor.acquire(model: "only-a", pinned: onlyA.snapshot, progress: { _ in })
        #expect(removed.modelID == "only-a")
        removed.release()
        try await waitUntil { await supervisor.running().allSatisfy { $0.id != "only-a" } }

        // Routed after the reload: B on both sides.
        guard case .relay(let after) = router.decide(Self.request("m")) else {
            Issue.record("B routes m")
            return
        }
        let leaseB = try await supervisor.acquire(model: "m", pinned: after.snapshot, progress: { _ in })
        #expect(after.heartbeatInterval == .seconds(2) && leaseB.forwardedModelName == "from-b")
        leaseB.release()
        await supervisor.shutdown()
    }

    /// Many requests on many tasks while the config flips between A and B: each one's router side and supervisor
    /// side agree.
    @Test func concurrentRequestsDuringReloadsNeverSeeAMix() async throws {
        let (router, supervisor) = Self.proxy()
        let mixes = NIOLockedValueBox<[String]>([])
        let served = NIOLockedValueBox(0)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for flip in 0..<60 {
                    await supervisor.reload(flip % 2 == 0 ? Self.configB : Self.configA)
                    await Task.yield()
                }
            }
            for index in 0..<600 {
                group.addTask {
                    let name = ["m", "only-a", "only-b"][index % 3]
                    guard case .relay(let settings) = router.decide(Self.request(name)) else { return }
                    await Task.yield()
                    do {
                        let lease = try await supervisor.acquire(
                            model: name, pinned: settings.snapshot, progress: { _ in })
                        let routedA = settings.heartbeatInterval == .seconds(1)
                        if name == "m" && (lease.forwardedModelName == "from-a") != routedA {
                            mixes.withLockedValue {
                                $0.append("routed with \(settings.heartbeatInterval!) but leased \(lease.forwardedModelName!)")
                            }
                        }
                        served.withLockedValue { $0 += 1 }
                        lease.release()
                    } catch {
                        mixes.withLockedValue { $0.append("\(name): routed, then refused: \(error)") }
                    }
                }
            }
        }
        let found = mixes.withLockedValue { $0 }
        #expect(found.count == 0, "\(found.count) mixes, first: \(found.prefix(3))")
        #expect(served.withLockedValue { $0 } >= 300)
        await supervisor.shutdown()
    }

    // MARK: - Helpers

    static func config(heartbeat: Int, useModelName: String, extra: String) -> ProxyConfig {
        let upstream = UpstreamURL(host: "127.0.0.1", port: 1)
        let models = [
            ModelConfig(
                id: "m", command: ["fake"], upstream: upstream, useModelName: useModelName, concurrencyLimit: 1000,
                heartbeat: HeartbeatSettings(interval: .seconds(heartbeat))),
            ModelConfig(id: extra, command: ["fake"], upstream: upstream, concurrencyLimit: 1000),
        ]
        return ProxyConfig(
            models: Dictionary(uniqueKeysWithValues: models.map { ($0.id, $0) }),
            groups: [GroupConfig(id: "all", swap: false, exclusive: false, members: ["m", "only-a", "only-b"])])
    }

    static func proxy() -> (ProxyRouter, Supervisor) {
        let store = ConfigStore(configA)
        let supervisor = Supervisor(
            store: store, logger: Logger(label: "reload-test") { _ in SwiftLogNoOpLogHandler() },
            factory: { model, _, _ in InstantUpstream(config: model) })
        return (ProxyRouter(store: store, provider: supervisor), supervisor)
    }

    static func request(_ model: String) -> ProxyRequest {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return ProxyRequest(
            head: HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions", headers: headers),
            body: ByteBuffer(string: "{\"model\":\"\(model)\",\"stream\":true}"), arrival: .now())
    }

    private func waitUntil(_ condition: () async -> Bool) async throws {
        for _ in 0..<500 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 5 s")
    }
}

/// An upstream that is ready as soon as it is started (the test is about configs, not processes).
private struct InstantUpstream: SupervisedUpstream {
    let config: ModelConfig
    func start(progress: @escaping @Sendable (String) -> Void) async throws(UpstreamStartError) -> Int { 1 }
    func stop() async {}
    var processID: Int32? { get async { nil } }
}
