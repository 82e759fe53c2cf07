import Foundation
import LocatedYAML
import Testing

@testable import Proxy

/// The repository root, found from this file's path (Tests/ProxyTests/CompatExampleTests.swift).
private let compatRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let compatFixture = compatRoot.appendingPathComponent(
    "Tests/ProxyTests/Fixtures/llama-swap-config.example.yaml")
private let compatDocs = compatRoot.appendingPathComponent("docs/config-compat.md")
/// The variables llama-swap's example reads with `${env.NAME}`.
private let compatEnvironment = [
    "HOME": "/home/user", "API_KEY_1": "sk-one", "API_KEY_2": "sk-two", "OPENROUTER_API_KEY": "sk-or",
]

/// llama-swap's own `config.example.yaml`, copied with its comments, loads here with exactly the warnings
/// docs/config-compat.md lists, so the documentation and the loader cannot drift apart.
@Suite struct CompatExampleTests {
    /// `LINE:COLUMN  message` for each warning, as the docs list them.
    static func actualWarnings() throws -> [String] {
        let (_, warnings) = try ConfigLoader.load(contentsOf: compatFixture.path, environment: compatEnvironment)
        return warnings.map { "\($0.location.line):\($0.location.column)  \($0.message)" }
    }

    /// The lines of the fenced block after the heading `## Warnings for llama-swap's config.example.yaml`.
    static func documentedWarnings() throws -> [String] {
        let text = try String(contentsOf: compatDocs, encoding: .utf8)
        let heading = try #require(text.range(of: "## Warnings for llama-swap's `config.example.yaml`"))
        let rest = text[heading.upperBound...]
        let open = try #require(rest.range(of: "```\n"))
        let close = try #require(rest[open.upperBound...].range(of: "```"))
        return rest[open.upperBound..<close.lowerBound].split(separator: "\n").map(String.init)
    }

    @Test func exampleWarnsExactlyWhatTheDocsList() throws {
        let actual = try Self.actualWarnings()
        let documented = try Self.documentedWarnings()
        #expect(
            Set(actual).subtracting(documented).sorted() == [], "warnings docs/config-compat.md does not list")
        #expect(
            Set(documented).subtracting(actual).sorted() == [],
            "warnings docs/config-compat.md lists but the loader no longer gives")
        #expect(actual.count == documented.count)
    }

    /// Every "not supported yet" warning names a key the docs' tables mark as not supported yet.
    @Test func everyUnsupportedKeyHasADocsRow() throws {
        let docs = try String(contentsOf: compatDocs, encoding: .utf8)
        let rows = docs.split(separator: "\n").filter { $0.hasPrefix("|") && $0.contains("not yet") }
        for warning in try Self.actualWarnings() where warning.contains("does not support yet") {
            let key = try #require(warning.split(separator: "'").dropFirst().first.map(String.init))
            #expect(
                rows.contains { $0.contains("`\(key)`") || $0.contains(".\(key)`") },
                "no 'not yet' row in docs/config-compat.md for \(key)")
        }
    }

    @Test func exampleLoadsWithLlamaSwapsMeaning() throws {
        let (config, _) = try ConfigLoader.load(contentsOf: compatFixture.path, environment: compatEnvironment)
        // unlisted-model is left out with a warning: its cmd has no ${PORT} and it sets no proxy (llama-swap refuses the file).
        #expect(config.sortedModelIDs == ["docker-llama", "gpt-oss-120b"])
        // routing.router.use: group with settings.groups behaves as top-level groups.
        #expect(config.routing.engine == .group)
        #expect(config.groups.map(\.id) == ["group1", "group2", "forever", GroupConfig.defaultGroupID])
        #expect(config.group(of: "docker-llama")?.id == "group2")
        #expect(config.group(of: "docker-llama")?.swap == false)
        #expect(config.groups.first { $0.id == "forever" }?.persistent == true)
        #expect(config.group(of: "gpt-oss-120b")?.id == GroupConfig.defaultGroupID)
        let model = try #require(config.models["gpt-oss-120b"])
        #expect(model.filters.stripParams == ["temperature", "top_p", "top_k"])
        #expect(model.filters.setParamsByID.map(\.id) == ["gpt-oss-120b", "gpt-oss-120b:high", "gpt-oss-120b:low"])
        #expect(config.aliases["gpt-oss-120b:high"] == "gpt-oss-120b")
        #expect(config.aliases["gpt-4o-mini"] == "gpt-oss-120b")
        #expect(model.capabilities.context == 32000 && model.capabilities.tools)
        #expect(model.metadata?["temperature"] == .number(0.7))
        #expect(model.metadata?["an_obj"]?["c"] == .list([.number(0.7), .bool(false), .string("model: gpt-oss-120b")]))
        #expect(config.peers.map(\.id) == ["llama-swap-peer", "tailcat-peer", "openrouter"])
        #expect(config.peers.last?.apiKey == "sk-or")
        #expect(config.selectors.map(\.id) == ["coding-model", "llm-plan", "llama"])
        #expect(config.selectors.last?.spillover == 4)
        #expect(config.startupProfile == "coding")
        #expect(config.upstreamIgnorePaths.count == 2)
        #expect(config.unloadTimeout == .seconds(10))
        #expect(
            config.apiKeys == [
                "sk-hunter2", "sk-gyCPiKUcIfPlaM4OSMZekkprgijPx6+OsmQs8Rsg0xZ9qpy6gKWsIKqHOk+cgXVx", "sk-one", "sk-two",
            ])
    }
}
