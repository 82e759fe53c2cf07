import Foundation
import Logging
import NIOHTTP1
import Testing

@testable import Proxy

/// llama-swap's `selectors` (warm, pin, spillover) as a table over target states, then through the router with a
/// supervisor whose upstreams start at once; and `upstream.ignorePaths`.
@Suite struct SelectorTests {
    typealias S = SelectorChoice.TargetState

    static func selector(_ strategy: SelectorSettings.Strategy, _ targets: [String], spillover: Int = 1)
        -> SelectorSettings
    {
        SelectorSettings(
            id: "sel", strategy: strategy, targets: targets, spillover: spillover, name: nil, description: nil,
            unlisted: false, metadata: nil, location: .init(file: "t", line: 1, column: 1))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var strategy: SelectorSettings.Strategy
        var spillover = 1
        var states: [String: S]
        var expected: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "pin: the first whatever runs", strategy: .pin, states: ["b": S(phase: .ready)], expected: "a"),
        Case(name: "warm: nothing runs -> the first", strategy: .warm, states: [:], expected: "a"),
        Case(
            name: "warm: the first ready", strategy: .warm,
            states: ["b": S(phase: .starting), "c": S(phase: .ready)], expected: "c"),
        Case(name: "warm: else the first starting", strategy: .warm, states: ["b": S(phase: .starting)], expected: "b"),
        Case(name: "warm: stopping is not warm", strategy: .warm, states: ["b": S(phase: .stopping)], expected: "a"),
        Case(name: "spillover: nothing runs -> the first cold", strategy: .spillover, states: [:], expected: "a"),
        Case(
            name: "spillover: an active target under the reservation keeps it", strategy: .spillover, spillover: 2,
            states: ["b": S(phase: .ready, inFlight: 1)], expected: "b"),
        Case(
            name: "spillover: full -> the first cold target starts", strategy: .spillover, spillover: 2,
            states: ["b": S(phase: .ready, inFlight: 2)], expected: "a"),
        Case(
            name: "spillover: the least busy active one", strategy: .spillover, spillover: 4,
            states: ["a": S(phase: .ready, inFlight: 3), "b": S(phase: .starting, inFlight: 1)], expected: "b"),
        Case(
            name: "spillover: ties go to the first in order", strategy: .spillover, spillover: 4,
            states: ["b": S(phase: .ready, inFlight: 1), "a": S(phase: .ready, inFlight: 1)], expected: "a"),
        Case(
            name: "spillover: all full, none cold -> the least busy", strategy: .spillover,
            states: [
                "a": S(phase: .ready, inFlight: 2), "b": S(phase: .ready, inFlight: 1), "c": S(phase: .ready, inFlight: 3),
            ], expected: "b"),
        Case(
            name: "spillover: stopping targets are skipped", strategy: .spillover,
            states: ["a": S(phase: .stopping), "b": S(phase: .ready, inFlight: 1)], expected: "c"),
        Case(
            name: "spillover: only stopping targets -> none", strategy: .spillover,
            states: ["a": S(phase: .stopping), "b": S(phase: .stopping), "c": S(phase: .stopping)], expected: nil),
    ]

    @Test(arguments: cases) func chooses(_ testCase: Case) {
        let selector = Self.selector(testCase.strategy, ["a", "b", "c"], spillover: testCase.spillover)
        #expect(SelectorChoice.choose(selector) { testCase.states[$0] ?? .stopped } == testCase.expected)
    }

    static let yaml = """
        models:
          a: {cmd: "fake --port ${PORT}", aliases: [alpha]}
          b: {cmd: "fake --port ${PORT}"}
        groups:
          both: {swap: false, exclusive: false, members: [a, b]}
        selectors:
          fast: {strategy: warm, targets: [alpha, b]}
          fill: {strategy: spillover, targets: [a, b], settings: {spillover: 1}}
        profiles:
          p: {pins: {coder: fill}}
        upstream:
          ignorePaths: ['^/slots$']
        """

    /// The router's choice follows the supervisor's states; a profile pin may name a selector.
    @Test func theRouterResolvesSelectorsFromTheSupervisorsStates() async throws {
        let (config, warnings) = try ConfigLoader.load(yaml: Self.yaml, file: "s.yaml")
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
        let supervisor = Supervisor(
            config: config, logger: Logger(label: "selector") { _ in SwiftLogNoOpLogHandler() },
            factory: { model, _, _ in InstantUpstream(config: model) })
        let router = ProxyRouter(store: supervisor.store, provider: supervisor)
        func routed(_ model: String) -> String? {
            let body = "{\"model\":\"\(model)\"}"
            guard case .relay(let settings) = router.decide(EndpointShapeTests.request(.POST, "/v1/completions", body: body))
            else { return nil }
            return settings.requestedModel
        }
        #expect(routed("fast") == "alpha", "nothing runs: warm takes the first target")
        let leaseB = try await supervisor.acquire(model: "b", progress: { _ in })
        #expect(routed("fast") == "b", "b is ready, a is not")
        #expect(routed("fill") == "a", "b serves its reservation of 1: spill over to a")
        leaseB.release()
        try await untilStates(supervisor) { $0["b"]?.inFlight == 0 }
        #expect(routed("fill") == "b", "b is active and idle")
        router.profiles.activate("p", in: router.store.current)
        #expect(routed("coder") == "b", "a profile pin to a selector")
        // The forwarded body names the target, as llama-swap rewrites it; a name routed as itself is left alone.
        func bodyModel(_ model: String) -> String?? {
            let body = "{\"model\":\"\(model)\"}"
            guard case .relay(let settings) = router.decide(EndpointShapeTests.request(.POST, "/v1/completions", body: body))
            else { return .some(.some("not relayed")) }
            return .some(settings.bodyModel)
        }
        #expect(bodyModel("coder") == .some("b"))
        #expect(bodyModel("b") == .some(nil))
        await supervisor.shutdown()
    }

    /// ignorePaths: a matching path for a model that is not ready is refused with 409 and starts nothing; once the
    /// model is ready it is relayed; other paths always are. With no patterns, llama-swap's static-asset default.
    @Test func ignoredUpstreamPathsNeverStartAModel() async throws {
        let (config, _) = try ConfigLoader.load(yaml: Self.yaml, file: "s.yaml")
        let supervisor = Supervisor(
            config: config, logger: Logger(label: "selector") { _ in SwiftLogNoOpLogHandler() },
            factory: { model, _, _ in InstantUpstream(config: model) })
        let router = ProxyRouter(store: supervisor.store, provider: supervisor)
        func status(_ uri: String) -> Int {
            switch router.decide(EndpointShapeTests.request(.GET, uri)) {
            case .relay: return 0
            case .respond(let response): return response.status
            default: return -1
            }
        }
        #expect(status("/upstream/a/slots") == 409)
        #expect(status("/upstream/alpha/slots?x=1") == 409)
        #expect(status("/upstream/a/slots/more") == 0)
        #expect(status("/upstream/a/app.js") == 0, "configured patterns replace the default")
        #expect(await supervisor.running().isEmpty)
        try await supervisor.acquire(model: "a", progress: { _ in }).release()
        #expect(status("/upstream/a/slots") == 0)

        #expect(UpstreamIgnorePaths.matches("/static/app.js", patterns: []))
        #expect(UpstreamIgnorePaths.matches("/favicon.ico", patterns: []))
        #expect(!UpstreamIgnorePaths.matches("/v1/chat/completions", patterns: []))
        #expect(UpstreamIgnorePaths.matches("/ws", patterns: [#"^\/ws$|^\/api\/jobs$"#]))
        #expect(!UpstreamIgnorePaths.matches("/wss", patterns: [#"^\/ws$|^\/api\/jobs$"#]))
        await supervisor.shutdown()
    }

    private func untilStates(
        _ supervisor: Supervisor, _ condition: ([String: SelectorChoice.TargetState]) -> Bool
    ) async throws {
        for _ in 0..<500 where !condition(supervisor.board.current) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition(supervisor.board.current))
    }
}

/// An upstream that is ready at once and stops at once.
private struct InstantUpstream: SupervisedUpstream {
    let config: ModelConfig
    func start(progress: @escaping @Sendable (String) -> Void) async throws(UpstreamStartError) -> Int { 1 }
    func stop() async {}
    var processID: Int32? { get async { nil } }
}

/// Through the real connection handler and relay: the body sent upstream names the selector's target in place of
/// the selector id the client sent (llama-swap's `ReplaceRequestModel`), every other byte as sent; a model's
/// `useModelName` still wins over it.
@Suite struct SelectorBodyTests {
    static let yaml = """
        models:
          a:
            proxy: http://127.0.0.1:9001
          named:
            proxy: http://127.0.0.1:9002
            useModelName: org/Named-Q4
        selectors:
          fast: {strategy: pin, targets: [a]}
          other: {strategy: pin, targets: [named]}
        """

    @Test(arguments: [("fast", "a"), ("a", "a"), ("other", "org/Named-Q4")])
    func theForwardedBodyNamesTheTarget(sent: String, forwarded: String) throws {
        let rig = try PeerRelayRig(yaml: Self.yaml)
        // The supervisor's lease carries the model's useModelName; the scripted one is told it.
        if forwarded == "org/Named-Q4" { rig.leases.forwardedModelName = forwarded }
        try rig.send(model: sent, stream: false)
        try rig.leases.grant()
        let request = try rig.upstreamRequest()
        let body = try #require(request.components(separatedBy: "\r\n\r\n").last)
        #expect(body == "{\"stream\":false,\"model\":\"\(forwarded)\",\"messages\":[]}", "\(request)")
    }
}
