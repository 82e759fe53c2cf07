import LocatedYAML
import Testing

@testable import Proxy

private func load(_ yaml: String) throws -> (ProxyConfig, [ConfigWarning]) {
    try ConfigLoader.load(yaml: yaml, file: "test.yaml", environment: ["KEY": "sk-peer"])
}

private func loadError(_ yaml: String) -> String? {
    do {
        _ = try load(yaml)
        return nil
    } catch {
        return "\(error)"
    }
}

private let threeModels = """
    models:
      a: {cmd: "run --port ${PORT}"}
      b: {cmd: "run --port ${PORT}"}
      c: {cmd: "run --port ${PORT}"}

    """

/// `routing.router` loads as llama-swap reads it; the group engine is today's `groups`.
@Suite struct CompatRoutingTests {
    static let groupBodies = [
        "g1: {members: [a, b]}\n",
        "g1: {swap: false, members: [a, b]}\ng2: {exclusive: false, members: [c]}\n",
        "g1: {persistent: true, swap: false, exclusive: false, members: [c]}\n",
        "g1: {members: [a, zzz]}\n",  // a member that is not a model: the same warning either way
    ]

    @Test(arguments: groupBodies)
    func routingGroupsEqualTopLevelGroups(body: String) throws {
        let indented = { (prefix: String) in body.split(separator: "\n").map { prefix + $0 }.joined(separator: "\n") }
        let (topLevel, topWarnings) = try load(threeModels + "groups:\n" + indented("  "))
        let (routed, routedWarnings) = try load(
            threeModels + "routing:\n  router:\n    use: group\n    settings:\n      groups:\n" + indented("        "))
        #expect(routed.routing.engine == .group)
        #expect(routed.groups.map(\.id) == topLevel.groups.map(\.id))
        #expect(routed.groups.map(\.members) == topLevel.groups.map(\.members))
        #expect(
            routed.groups.map { [$0.swap, $0.exclusive, $0.persistent] }
                == topLevel.groups.map { [$0.swap, $0.exclusive, $0.persistent] })
        #expect(routedWarnings.map(\.message) == topWarnings.map(\.message))
        #expect(!routed.groups.isEmpty && routed.groups.count == topLevel.groups.count)
    }

    @Test func routingWithoutUseIsTheGroupEngine() throws {
        let (config, warnings) = try load(
            threeModels + "routing:\n  router:\n    settings:\n      groups:\n        g: {members: [a, b]}\n")
        #expect(config.groups.map(\.id) == ["g", GroupConfig.defaultGroupID])
        #expect(warnings.isEmpty)
    }

    @Test func matrixIsReadCheckedAndSaysItIsNotActive() throws {
        let (config, warnings) = try load(
            threeModels + """
                routing:
                  router:
                    use: matrix
                    settings:
                      matrix:
                        vars: {x: a, y: b}
                        evict_costs: {x: 5}
                        sets:
                          pair: "x & y"
                          alone: c
                """)
        #expect(config.routing.engine == .matrix)
        let settings = try #require(config.routing.matrix)
        let matrix = settings.definition
        #expect(matrix.vars.map(\.key) == ["x", "y"] && matrix.vars.map(\.model) == ["a", "b"])
        #expect(matrix.evictCosts.map(\.multiplier) == [5])
        #expect(matrix.sets.map(\.name) == ["pair", "alone"])
        #expect(matrix.sets.map(\.expression) == ["x & y", "c"])
        #expect(settings.setPlaces["pair"]?.location == SourceLocation(file: "test.yaml", line: 13, column: 11))
        #expect(config.groups.map(\.id) == [GroupConfig.defaultGroupID])
        #expect(config.groups[0].members == ["a", "b", "c"] && config.groups[0].swap && config.groups[0].exclusive)
        #expect(warnings.isEmpty, "the matrix engine is active: nothing to warn about")
    }

    @Test func legacyTopLevelMatrixLoadsLikeRoutingMatrix() throws {
        let (config, warnings) = try load(threeModels + "matrix:\n  sets:\n    s: \"a & b\"\n")
        #expect(config.routing.engine == .matrix)
        #expect(config.routing.matrix?.definition.sets.map(\.expression) == ["a & b"])
        #expect(warnings.isEmpty)
    }

    static let errors: [(String, String)] = [
        (
            "routing:\n  router:\n    use: swarm\n",
            "test.yaml:7:10: routing.router.use: expected group or matrix, got 'swarm'"
        ),
        (
            "routing:\n  router:\n    use: matrix\n",
            "test.yaml:7:10: routing.router.use is 'matrix' but routing.router.settings.matrix is not set"
        ),
        (
            "routing:\n  scheduler:\n    use: lifo\n",
            "test.yaml:7:10: routing.scheduler.use: expected one of fifo, got 'lifo'"
        ),
        (
            "groups:\n  g: {members: [a]}\nrouting:\n  router:\n    use: group\n",
            "test.yaml:6:3: the config uses both the top-level 'groups' key and routing.router"
        ),
        (
            "groups:\n  g: {members: [a]}\nmatrix:\n  sets: {s: a}\n",
            "test.yaml:8:3: the config cannot use both 'groups' and 'matrix'"
        ),
        // The solver's errors, placed at the set's column (quoted: one more) or at the var / cost.
        (
            "matrix:\n  sets:\n    s: \"a & qq\"\n",
            "test.yaml:7:13: matrix: set 's', column 5: unknown var or model 'qq'"
        ),
        ("matrix:\n  sets:\n    s: a & qq\n", "test.yaml:7:12: matrix: set 's', column 5: unknown var or model 'qq'"),
        (
            "matrix:\n  vars: {x: nope}\n  sets: {s: x}\n",
            "test.yaml:6:10: matrix: var 'x': references unknown model 'nope'"
        ),
        (
            "matrix:\n  evict_costs: {a: 0}\n  sets: {s: a}\n",
            "test.yaml:6:20: matrix.evict_costs.a: expected a positive whole number, got '0'"
        ),
        (
            "matrix:\n  evict_costs: {zz: 2}\n  sets: {s: a}\n",
            "test.yaml:6:17: matrix: evict_costs 'zz': unknown var or model"
        ),
        ("matrix:\n  sets:\n    s: a\n    s: b\n", "test.yaml:8:5: duplicate key 's'"),
        ("matrix:\n  sets:\n    s: [a, b]\n", "test.yaml:7:8: matrix.sets.s: expected an expression"),
    ]

    @Test(arguments: errors)
    func routingMistakesAreLocatedErrors(yaml: String, expected: String) {
        let error = loadError(threeModels + yaml)
        #expect(error?.hasPrefix(expected) == true, "\(error ?? "no error")")
    }

    @Test func inactiveMatrixBesideGroupsIsNotChecked() throws {
        // llama-swap's example: use: group, with an illustrative matrix naming models that do not exist.
        let (config, warnings) = try load(
            threeModels
                + "routing:\n  router:\n    use: group\n    settings:\n      matrix:\n        sets: {s: \"nope & never\"}\n"
        )
        #expect(config.routing.engine == .group && config.routing.matrix == nil)
        #expect(warnings.isEmpty)
    }

    @Test func priorityIsReadAndAnUnknownModelWarned() throws {
        let (config, warnings) = try load(
            threeModels
                + "routing:\n  scheduler:\n    use: fifo\n    settings:\n      fifo:\n        priority: {a: 10, b: -1, ghost: 3}\n"
        )
        #expect(config.routing.priority == ["a": 10, "b": -1])
        #expect(warnings.map(\.keyPath) == ["routing.scheduler.settings.fifo.priority.ghost"])
    }
}
