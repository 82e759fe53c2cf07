import LocatedYAML
import Testing

@testable import Proxy

private let base = """
    models:
      a:
        cmd: "run --port ${PORT}"
        aliases: [alpha]

    """

private func load(_ yaml: String) throws -> (ProxyConfig, [ConfigWarning]) {
    try ConfigLoader.load(yaml: base + yaml, file: "t.yaml", environment: ["KEY": "sk-env"])
}

/// llama-swap's sections whose behaviour is not built yet: read with their meaning, checked with located errors,
/// and each warned about once as "not supported yet".
@Suite struct CompatSectionsTests {
    static let errors: [(String, String)] = [
        ("profiles:\n  p: {description: d}\n", "t.yaml:6:3: profiles.p.pins: expected at least one pin"),
        ("selectors:\n  a: {strategy: pin, targets: [a]}\n", "t.yaml:6:3: selectors.a: the name is already a model id"),
        (
            "selectors:\n  alpha: {strategy: pin, targets: [a]}\n",
            "t.yaml:6:3: selectors.alpha: the name is already a model alias"
        ),
        (
            "selectors:\n  s: {strategy: random, targets: [a]}\n",
            "t.yaml:6:17: selectors.s.strategy: expected one of warm, pin, spillover"
        ),
        ("selectors:\n  s: {strategy: warm}\n", "t.yaml:6:3: selectors.s.targets: expected at least one target"),
        (
            "selectors:\n  s: {strategy: warm, targets: [t]}\n  t: {strategy: pin, targets: [a]}\n",
            "t.yaml:6:33: selectors.s.targets: 't' is a selector"
        ),
        (
            "selectors:\n  s: {strategy: spillover, targets: [a], settings: {spillover: 0}}\n",
            "t.yaml:6:64: selectors.s.settings.spillover: expected a whole number >= 1"
        ),
        ("peers:\n  p: {models: [m]}\n", "t.yaml:6:3: peers.p: proxy is required"),
        (
            "peers:\n  p: {proxy: \"ftp://x\", models: [m]}\n",
            "t.yaml:6:14: peers.p.proxy: expected an http:// or https:// URL"
        ),
        ("peers:\n  p: {proxy: \"http://x\"}\n", "t.yaml:6:3: peers.p: models is required"),
        ("hooks:\n  on_startup: {profile: nope}\n", "t.yaml:6:25: hooks.on_startup.profile: 'nope' is not a profile"),
        (
            "upstream:\n  ignorePaths: ['(']\n",
            "t.yaml:6:17: upstream.ignorePaths: '(' is not a valid regular expression"
        ),
        (
            "models:\n  b:\n    proxy: http://x:1\n    capabilities: {in: [smell]}\n",
            "t.yaml:9:25: models.b.capabilities.in: expected one of text, audio, image, video, got 'smell'"
        ),
        (
            "models:\n  b:\n    proxy: http://x:1\n    filters: {setParams: [1]}\n",
            "t.yaml:9:26: models.b.filters.setParams: expected a mapping"
        ),
        (
            "models:\n  b:\n    proxy: http://x:1\n    metadata: {x: \"${nope}\"}\n",
            "t.yaml:9:19: unknown macro '${nope}' in models.b.metadata"
        ),
    ]

    @Test(arguments: errors)
    func mistakesAreLocatedErrors(yaml: String, expected: String) {
        // Rows that start with models: stand alone (their line numbers count from 1); the others follow `base`.
        let standalone = yaml.hasPrefix("models:")
        var message = "no error"
        do {
            _ = try ConfigLoader.load(yaml: standalone ? yaml : base + yaml, file: "t.yaml", environment: [:])
        } catch {
            message = "\(error)"
        }
        let adjusted = standalone ? expected.replacingOccurrences(of: "t.yaml:9:", with: "t.yaml:4:") : expected
        #expect(message.hasPrefix(adjusted), "\(message)")
    }

    @Test func sectionsLoadWithTheirMeaningAndNoWarning() throws {
        let (config, warnings) = try load(
            """
            macros: {m: "7"}
            profiles:
              p: {pins: {x: a, y: ~}}
            selectors:
              s: {strategy: spillover, targets: [a, peer/m], settings: {spillover: 3}}
            peers:
              peer: {proxy: "https://api.example", apiKey: "${env.KEY}", models: [m], timeouts: {connect: 5, responseHeader: 0}}
            hooks:
              on_startup: {preload: [alpha], profile: p}
            upstream:
              ignorePaths: ['^/ws$']
            includeAliasesInList: true
            unloadTimeout: 30
            """)
        #expect(config.profiles.first?.pins == [.init(id: "x", target: "a"), .init(id: "y", target: nil)])
        #expect(config.selectors.first?.targets == ["a", "peer/m"])
        #expect(config.selectors.first?.spillover == 3 && config.selectors.first?.strategy == .spillover)
        let peer = try #require(config.peers.first)
        #expect(peer.apiKey == "sk-env" && peer.proxy == "https://api.example" && peer.models == ["m"])
        #expect(peer.connectTimeout == .seconds(5) && peer.responseHeaderTimeout == nil)
        #expect(config.preload == ["a"] && config.startupProfile == "p")
        #expect(config.upstreamIgnorePaths == ["^/ws$"])
        #expect(config.includeAliasesInList && config.unloadTimeout == .seconds(30))
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
    }

    @Test func filtersReadLikeLlamaSwap() throws {
        let (config, warnings) = try load(
            """
            models:
              b:
                proxy: http://127.0.0.1:9
                macros: {effort: high}
                filters:
                  stripParams: "top_k, model, ,top_k, temperature"
                  setParams: {model: x, temperature: 0.5, stop: ["a"], nested: {k: true}}
                  setParamsByID:
                    "${MODEL_ID}": {seed: 1}
                    "${MODEL_ID}:${effort}": {reasoning_effort: "${effort}"}
            """.replacingOccurrences(of: "models:\n", with: "").split(separator: "\n").map { "  " + $0 }
                .joined(separator: "\n").replacingOccurrences(of: "    b:", with: "  b:"))
        _ = warnings
        let model = try #require(config.models["b"])
        #expect(model.filters.stripParams == ["top_k", "temperature"])
        #expect(model.filters.setParams.map(\.key) == ["temperature", "stop", "nested"])
        #expect(model.filters.setParams.first?.value == .number(0.5))
        #expect(model.filters.setParamsByID.map(\.id) == ["b", "b:high"])
        #expect(model.filters.setParamsByID.last?.params.first?.value == .string("high"))
        #expect(config.aliases["b:high"] == "b" && config.aliases["b"] == nil)
    }
}
