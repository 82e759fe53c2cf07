import FakeUpstream
import LocatedYAML
import Proxy
import Testing

/// Unknown keys name their place and the allowed key they most likely meant, in scenarios (an error) and in the
/// config (a warning), through the real loaders.
@Suite struct KeySuggestionTests {
    @Test(arguments: [
        ("healthCheckTimout", "healthCheckTimeout"), ("stauts", "status"), ("modles", "models"),
        ("STATUS", "status"), ("colour", nil), ("x", nil),
    ] as [(String, String?)])
    func suggestsOnlyPlausibleTypos(key: String, suggestion: String?) {
        let allowed = ConfigLoader.topLevelKeys + ScenarioParser.Keys.step
        #expect(KeySuggestion.closest(to: key, in: allowed) == suggestion)
    }

    @Test(arguments: [
        ("a: 1\nstauts: 2\n", "r.yaml:2:1: unknown key 'stauts' in step; expected one of: a, status; did you mean 'status'?"),
        ("a: 1\ncolour: 2\n", "r.yaml:2:1: unknown key 'colour' in step; expected one of: a, status"),
    ])
    func strictFieldsRefuseUnknownKeys(yaml: String, expected: String) throws {
        let result = try read("v:\n" + yaml.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n")) {
            r, n throws(LocatedError) in try r.fields(n, "step", allowed: ["a", "status"])
        }
        // The keys moved one line down and two columns right inside `v:`.
        let shifted = expected.replacingOccurrences(of: "r.yaml:2:1:", with: "r.yaml:3:3:")
        #expect(result.failureDescription == shifted)
    }

    @Test func lenientFieldsCollectUnknownKeysWithTheirPlace() throws {
        var unknown: [UnknownKey] = []
        let result = try read("v: {status: 1, stauts: 2, colour: 3}") { r, n throws(LocatedError) in
            try r.fields(n, "step", allowed: ["a", "status"], unknownKeys: &unknown)
        }
        #expect(try result.get().entries.map(\.key) == ["status"])
        #expect(unknown.map(\.key) == ["stauts", "colour"])
        #expect(unknown.map(\.suggestion) == ["status", nil])
        #expect(unknown.map(\.location.column) == [16, 27])
    }

    /// The config warns (it must still load, as llama-swap's does) and says which key was meant.
    @Test(arguments: [
        ("healthCheckTimout: 60\nmodels: {}\n",
         "cfg.yaml:1:1: warning: unknown key 'healthCheckTimout' in the top level is ignored; did you mean 'healthCheckTimeout'?"),
        ("models:\n  a:\n    proxy: http://h:1\n    cmdStpo: kill\n",
         "cfg.yaml:4:5: warning: unknown key 'cmdStpo' in model 'a' is ignored; did you mean 'cmdStop'?"),
        ("models:\n  a:\n    proxy: http://h:1\ngroups:\n  g:\n    members: [a]\n    exclusiv: false\n",
         "cfg.yaml:7:5: warning: unknown key 'exclusiv' in group 'g' is ignored; did you mean 'exclusive'?"),
        ("models:\n  a:\n    proxy: http://h:1\n    timeouts: {streamIdel: 5}\n",
         "cfg.yaml:4:16: warning: unknown key 'streamIdel' in the timeouts of model 'a' is ignored; did you mean 'streamIdle'?"),
        ("flavour: x\nmodels: {}\n", "cfg.yaml:1:1: warning: unknown key 'flavour' in the top level is ignored (a typo?)"),
    ])
    func configTyposAreWarningsWithASuggestion(yaml: String, expected: String) throws {
        let (_, warnings) = try ConfigLoader.load(yaml: yaml, file: "cfg.yaml", environment: [:])
        #expect(warnings.map(\.description) == [expected])
    }

    /// A typo in a scenario is an error at the key, listing what is allowed and suggesting the closest.
    @Test(arguments: [
        ("description: d\nresponses:\n  - steps:\n      - stauts: 200\n", "s.yaml:4:9: unknown key 'stauts' in step", "'status'"),
        ("descripton: d\n", "s.yaml:1:1: unknown key 'descripton' in the top level", "'description'"),
        ("description: d\nhealth: {states: [{status: 200}], repaet: true}\n", "s.yaml:2:35: unknown key 'repaet' in health", "'repeat'"),
    ])
    func scenarioTyposAreErrorsWithASuggestion(yaml: String, prefix: String, suggestion: String) {
        do {
            _ = try ScenarioParser.parse(yaml: yaml, file: "s.yaml")
            Issue.record("the typo was accepted")
        } catch {
            #expect(error.description.hasPrefix(prefix + "; expected one of: "), "\(error)")
            #expect(error.description.hasSuffix("; did you mean \(suggestion)?"), "\(error)")
        }
    }
}
