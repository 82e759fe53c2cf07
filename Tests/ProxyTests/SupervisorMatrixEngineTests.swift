import LocatedYAML
import Testing

@testable import Proxy

/// `SwapEngine` over the matrix: `pair: a & b`, `solo: c`, `dv: d | v`, `cv: c & v`, `cxy: c & x & y`, with `v`
/// costing 5 to evict; `loner` is in no set. Rows give what runs (phase, requests in flight) and the plan the
/// supervisor must perform.
private let engineModels = ["a", "b", "c", "d", "v", "x", "y", "loner"]

private let engineMatrix = matrixDefinition(
    costs: [("v", 5)],
    sets: [
        ("pair", "a & b"), ("solo", "c"), ("dv", "d | v"), ("cv", "c & v"), ("cxy", "c & x & y"),
    ])

private typealias R = SwapPlanner.RunningModel

private func idle(_ id: String) -> R { R(id: id, phase: .ready) }
private func busy(_ id: String, _ count: Int = 1) -> R { R(id: id, phase: .ready, inFlight: count) }
private func stopping(_ id: String) -> R { R(id: id, phase: .stopping) }

struct MatrixEngineCase: CustomTestStringConvertible, Sendable {
    var name: String
    var requested: String
    var running: [SwapPlanner.RunningModel]
    var expected: SwapPlanner.Plan
    /// The swap line's `set=… evict=… cost=…` part, when the row pins it.
    var line: String? = nil
    var testDescription: String { name }
}

@Suite struct SupervisorMatrixEngineTests {
    static let cases: [MatrixEngineCase] = [
        MatrixEngineCase(
            name: "nothing runs: start", requested: "a", running: [], expected: .start(afterStopping: []),
            line: "set=pair dsl=\"a & b\" keep=[] evict=[] cost=0"),
        MatrixEngineCase(
            name: "a partner in the same set is kept", requested: "b", running: [idle("a")],
            expected: .start(afterStopping: []), line: "set=pair dsl=\"a & b\" keep=[a] evict=[] cost=0"),
        MatrixEngineCase(
            name: "both of a set are evicted for a model outside it", requested: "c",
            running: [idle("a"), idle("b")], expected: .start(afterStopping: ["a", "b"]),
            line: "set=solo dsl=\"c\" keep=[] evict=[a b] cost=2"),
        MatrixEngineCase(
            name: "runs already: nothing changes, even beside a model it may not run with", requested: "a",
            running: [idle("a"), idle("c")], expected: .alreadyRunning(alsoStop: [])),
        MatrixEngineCase(
            name: "starting already: join the load", requested: "a",
            running: [R(id: "a", phase: .starting, inFlight: 2), idle("c")], expected: .alreadyRunning(alsoStop: [])),
        MatrixEngineCase(
            name: "an evicted model serving a request makes the start wait; idle ones stop meanwhile",
            requested: "c", running: [busy("a", 2), idle("b")], expected: .wait(busy: ["a"], stopNow: ["b"])),
        MatrixEngineCase(
            name: "a starting model with waiters is busy", requested: "c",
            running: [R(id: "a", phase: .starting, inFlight: 1)], expected: .wait(busy: ["a"], stopNow: [])),
        MatrixEngineCase(
            name: "a starting model without waiters is evicted", requested: "c",
            running: [R(id: "a", phase: .starting)], expected: .start(afterStopping: ["a"])),
        MatrixEngineCase(
            name: "a kept model serving requests does not block", requested: "b", running: [busy("a", 3)],
            expected: .start(afterStopping: [])),
        MatrixEngineCase(
            name: "cheapest wins: keeping v (cost 5) beats keeping d (cost 1)", requested: "c",
            running: [idle("d"), idle("v")], expected: .start(afterStopping: ["d"]),
            line: "set=cv dsl=\"c & v\" keep=[v] evict=[d] cost=1"),
        MatrixEngineCase(
            name: "the multiplier counts: evicting x and y (1 + 1) beats evicting v (5)", requested: "c",
            running: [idle("x"), idle("y"), idle("v")], expected: .start(afterStopping: ["x", "y"]),
            line: "set=cv dsl=\"c & v\" keep=[v] evict=[x y] cost=2"),
        MatrixEngineCase(
            name: "a model in no set runs alone", requested: "loner", running: [idle("a"), busy("v")],
            expected: .wait(busy: ["v"], stopNow: ["a"]),
            line: "set=(none: runs alone) dsl=\"loner\" keep=[] evict=[a v] cost=6"),
        MatrixEngineCase(
            name: "a stopping model it may not run beside must finish stopping", requested: "c",
            running: [stopping("a")], expected: .wait(busy: ["a"], stopNow: [])),
        MatrixEngineCase(
            name: "a stopping model it may run beside does not block", requested: "b", running: [stopping("a")],
            expected: .start(afterStopping: [])),
        MatrixEngineCase(
            name: "the requested model still stopping: wait for it first", requested: "a",
            running: [stopping("a"), stopping("c")], expected: .wait(busy: ["a", "c"], stopNow: [])),
    ]

    @Test(arguments: cases) func decides(_ row: MatrixEngineCase) throws {
        let engine = SwapEngine.matrix(try compiledMatrix(engineMatrix, models: engineModels))
        let decision = engine.plan(for: row.requested, running: row.running)
        #expect(decision.plan == row.expected)
        if let line = row.line {
            #expect(decision.swapLine == "matrix swap: model=\(row.requested) \(line)")
        }
        if case .alreadyRunning = row.expected { #expect(decision.swapLine == nil) }
    }

    /// The group engine is `SwapPlanner` unchanged: same plans, no swap line.
    @Test(arguments: SwapPlannerTests.cases) func groupEngineIsTheSwapPlanner(_ row: SwapCase) {
        let groups = [
            GroupConfig(id: "group1", swap: true, exclusive: true, members: ["llama", "qwen"]),
            GroupConfig(id: "group2", swap: false, exclusive: false, members: ["docker", "modelA", "modelB"]),
            GroupConfig(id: "forever", swap: false, exclusive: false, persistent: true, members: ["keepA", "keepB"]),
            GroupConfig(id: "pinned", swap: true, exclusive: true, persistent: true, members: ["pinA", "pinB"]),
            GroupConfig(id: "(default)", swap: true, exclusive: true, members: ["solo1", "solo2"]),
        ]
        let decision = SwapEngine.groups(SwapPlanner(groups: groups)).plan(for: row.requested, running: row.running)
        #expect(decision == SwapEngine.Decision(plan: row.expected, swapLine: nil))
    }

    /// The config picks the engine: a loaded `use: matrix` gives the matrix, `use: group` and no routing the groups.
    @Test func configChoosesTheEngine() throws {
        let models = """
            models:
              a: {cmd: "run-a --port ${PORT}"}
              b: {cmd: "run-b --port ${PORT}"}
              c: {cmd: "run-c --port ${PORT}"}

            """
        let (matrixConfig, warnings) = try ConfigLoader.load(
            yaml: models + """
                routing:
                  router:
                    use: matrix
                    settings:
                      matrix:
                        sets: {pair: "a & b", solo: c}
                """, file: "test.yaml")
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
        let (engine, problem) = SwapEngine.make(config: matrixConfig)
        #expect(problem == nil)
        guard case .matrix(let matrix) = engine else {
            Issue.record("use: matrix must give the matrix engine")
            return
        }
        #expect(matrix.setNames == ["pair", "solo"])

        let (groupConfig, _) = try ConfigLoader.load(yaml: models, file: "test.yaml")
        guard case .groups = SwapEngine.make(config: groupConfig).engine else {
            Issue.record("no routing must give the group engine")
            return
        }
    }

    /// A matrix built in code that does not compile (the loader refuses such a file) leaves the groups deciding and
    /// says why.
    @Test func uncompilableMatrixFallsBackToGroups() throws {
        var config = ProxyConfig(models: [:])
        config.routing = RoutingSettings(
            engine: .matrix,
            matrix: MatrixSettings(
                definition: MatrixDefinition(sets: [.init(name: "s", expression: "nobody")]),
                location: SourceLocation(file: "x", line: 1, column: 1)))
        let (engine, problem) = SwapEngine.make(config: config)
        guard case .groups = engine else {
            Issue.record("an uncompilable matrix must not decide")
            return
        }
        #expect(problem?.contains("the matrix does not compile") == true)
    }
}
