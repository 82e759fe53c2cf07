import SeededRandom
import Testing

@testable import Proxy

/// Groups as in llama-swap's config.example.yaml: one swapping exclusive group, one side-by-side group that does not
/// unload others, one persistent group, and models in no group (the default group).
private let groups: [GroupConfig] = [
    GroupConfig(id: "group1", swap: true, exclusive: true, members: ["llama", "qwen"]),
    GroupConfig(id: "group2", swap: false, exclusive: false, members: ["docker", "modelA", "modelB"]),
    GroupConfig(id: "forever", swap: false, exclusive: false, persistent: true, members: ["keepA", "keepB"]),
    GroupConfig(id: "pinned", swap: true, exclusive: true, persistent: true, members: ["pinA", "pinB"]),
    GroupConfig(id: "(default)", swap: true, exclusive: true, members: ["solo1", "solo2"]),
]

private typealias R = SwapPlanner.RunningModel

private func idle(_ id: String) -> R { R(id: id, phase: .ready) }
private func busy(_ id: String, _ count: Int = 1) -> R { R(id: id, phase: .ready, inFlight: count) }

struct SwapCase: CustomTestStringConvertible, Sendable {
    var name: String
    var requested: String
    var running: [SwapPlanner.RunningModel]
    var expected: SwapPlanner.Plan
    var testDescription: String { name }
}

@Suite struct SwapPlannerTests {
    static let cases: [SwapCase] = [
        SwapCase(name: "nothing running: start", requested: "llama", running: [], expected: .start(afterStopping: [])),
        SwapCase(
            name: "ready and alone: already running", requested: "llama", running: [idle("llama")],
            expected: .alreadyRunning(alsoStop: [])),
        SwapCase(
            name: "starting: join the load", requested: "llama",
            running: [R(id: "llama", phase: .starting, inFlight: 3)], expected: .alreadyRunning(alsoStop: [])),
        SwapCase(
            name: "swap group: idle sibling is stopped", requested: "qwen", running: [idle("llama")],
            expected: .start(afterStopping: ["llama"])),
        SwapCase(
            name: "swap group: busy sibling makes X wait", requested: "qwen", running: [busy("llama", 2)],
            expected: .wait(busy: ["llama"], stopNow: [])),
        SwapCase(
            name: "starting sibling with waiters is busy", requested: "qwen",
            running: [R(id: "llama", phase: .starting, inFlight: 1)],
            expected: .wait(busy: ["llama"], stopNow: [])),
        SwapCase(
            name: "starting sibling without waiters is stopped", requested: "qwen",
            running: [R(id: "llama", phase: .starting)], expected: .start(afterStopping: ["llama"])),
        SwapCase(
            name: "stopping sibling must finish stopping", requested: "qwen",
            running: [R(id: "llama", phase: .stopping)], expected: .wait(busy: ["llama"], stopNow: [])),
        SwapCase(
            name: "exclusive: other groups stopped, persistent kept", requested: "llama",
            running: [idle("modelA"), idle("keepA"), idle("solo1"), idle("pinA")],
            expected: .start(afterStopping: ["modelA", "solo1"])),
        SwapCase(
            name: "exclusive: busy model elsewhere waits, idle ones stop meanwhile", requested: "llama",
            running: [busy("modelA"), idle("modelB"), idle("qwen")],
            expected: .wait(busy: ["modelA"], stopNow: ["modelB", "qwen"])),
        SwapCase(
            name: "non-swap, non-exclusive group: everything stays", requested: "modelB",
            running: [idle("modelA"), idle("llama"), idle("keepA"), idle("solo1")],
            expected: .start(afterStopping: [])),
        SwapCase(
            name: "persistent non-swap group: members run together", requested: "keepB",
            running: [idle("keepA"), busy("llama")], expected: .start(afterStopping: [])),
        SwapCase(
            name: "persistent swap group still swaps inside", requested: "pinB",
            running: [idle("pinA"), idle("keepA")], expected: .start(afterStopping: ["pinA"])),
        SwapCase(
            name: "persistent exclusive group evicts non-persistent others", requested: "pinA",
            running: [idle("llama"), idle("modelA"), idle("keepA")],
            expected: .start(afterStopping: ["llama", "modelA"])),
        SwapCase(
            name: "default group: one model at a time across the instance", requested: "solo2",
            running: [idle("solo1"), idle("llama"), idle("docker")],
            expected: .start(afterStopping: ["docker", "llama", "solo1"])),
        SwapCase(
            name: "running X in exclusive group: idle others stop, X does not wait", requested: "llama",
            running: [idle("llama"), idle("modelA"), busy("modelB")],
            expected: .alreadyRunning(alsoStop: ["modelA"])),
        SwapCase(
            name: "X itself stopping: wait for it, then start", requested: "llama",
            running: [R(id: "llama", phase: .stopping)], expected: .wait(busy: ["llama"], stopNow: [])),
        SwapCase(
            name: "X stopping and a busy sibling", requested: "llama",
            running: [R(id: "llama", phase: .stopping), busy("qwen")],
            expected: .wait(busy: ["llama", "qwen"], stopNow: [])),
        SwapCase(
            name: "unknown model: its own swap+exclusive group", requested: "stranger",
            running: [idle("modelA"), idle("keepA")], expected: .start(afterStopping: ["modelA"])),
        SwapCase(
            name: "stop list is sorted", requested: "solo1",
            running: [idle("modelB"), idle("docker"), idle("modelA")],
            expected: .start(afterStopping: ["docker", "modelA", "modelB"])),
    ]

    @Test(arguments: cases)
    func plans(_ testCase: SwapCase) {
        let planner = SwapPlanner(groups: groups)
        #expect(planner.plan(for: testCase.requested, running: testCase.running) == testCase.expected)
    }

    /// Whatever runs, a plan never stops a model that serves a request, and never stops X itself.
    @Test func neverEvictsABusyModel() {
        let planner = SwapPlanner(groups: groups)
        let ids = groups.flatMap(\.members)
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2000 {
            let running = ids.filter { _ in Bool.random(using: &generator) }.map { id in
                R(
                    id: id, phase: [.starting, .ready, .stopping].randomElement(using: &generator)!,
                    inFlight: Int.random(in: 0...2, using: &generator))
            }
            let requested = ids.randomElement(using: &generator)!
            let stopped: [String] =
                switch planner.plan(for: requested, running: running) {
                case .alreadyRunning(let alsoStop): alsoStop
                case .start(let afterStopping): afterStopping
                case .wait(_, let stopNow): stopNow
                }
            for id in stopped {
                let model = running.first { $0.id == id }
                #expect(model?.inFlight == 0, "\(id) serves requests but would be stopped")
                #expect(model?.phase != .stopping)
                #expect(id != requested)
            }
        }
    }

    @Test func plannerFromLoadedConfig() throws {
        let (config, _) = try loadConfig(
            """
            models:
              a: {proxy: 'http://h:1'}
              b: {proxy: 'http://h:2'}
              c: {proxy: 'http://h:3'}
            groups:
              side:
                swap: false
                exclusive: false
                members: [c]
            """)
        let planner = SwapPlanner(config: config)
        #expect(planner.plan(for: "b", running: [idle("a"), idle("c")]) == .start(afterStopping: ["a", "c"]))
        #expect(planner.plan(for: "c", running: [idle("a")]) == .start(afterStopping: []))
    }
}

/// The one seeded generator, under the name these tables always used.
typealias SeededGenerator = SplitMix64
