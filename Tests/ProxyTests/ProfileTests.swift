import Foundation
import NIOHTTP1
import Testing

@testable import Proxy

/// llama-swap's `profiles`: the pin rules as a table, the runtime switch (reloads return to the start-up profile),
/// requests routed through the active profile, and the `/api/profiles` endpoints.
@Suite struct ProfileTests {
    static let yaml = """
        models:
          real:
            cmd: llama-server --port ${PORT}
            aliases: [nick]
            filters:
              setParamsByID:
                variant: {thinking: true}
          hidden:
            cmd: llama-server --port ${PORT}
            unlisted: true
        profiles:
          coding:
            description: Coding profile
            pins:
              public: variant
              disabled: ~
              real: hidden
              byAlias: nick
          other:
            pins: {public: hidden}
        """

    static func load(_ extra: String = "") throws -> ProxyConfig {
        let (config, warnings) = try ConfigLoader.load(yaml: yaml + "\n" + extra, file: "p.yaml")
        #expect(warnings.isEmpty, "\(warnings.map(\.message))")
        return config
    }

    struct PinCase: Sendable, CustomTestStringConvertible {
        var requested: String
        var profile: String?
        var expected: ProfilePins.Resolution
        var testDescription: String { "\(requested) under \(profile ?? "no profile")" }
    }

    static let pinCases: [PinCase] = [
        PinCase(requested: "public", profile: nil, expected: .unchanged),
        PinCase(requested: "public", profile: "coding", expected: .pinned(to: "variant")),
        PinCase(requested: "public", profile: "other", expected: .pinned(to: "hidden")),
        PinCase(requested: "disabled", profile: "coding", expected: .disabled),
        PinCase(requested: "disabled", profile: "other", expected: .unchanged),
        PinCase(requested: "real", profile: "coding", expected: .pinned(to: "hidden")),  // pins come before model ids
        PinCase(requested: "nick", profile: "coding", expected: .unchanged),
        PinCase(requested: "byAlias", profile: "coding", expected: .pinned(to: "nick")),
    ]

    @Test(arguments: pinCases) func pins(_ testCase: PinCase) throws {
        let config = try Self.load()
        let profile = testCase.profile.flatMap { name in config.profiles.first { $0.name == name } }
        #expect(ProfilePins.resolve(testCase.requested, profile: profile) == testCase.expected)
    }

    @Test func theSwitchStartsFromTheStartupProfileAndReloadsReturnToIt() throws {
        let config = try Self.load("hooks:\n  on_startup:\n    profile: coding\n")
        let profiles = ProfileSwitch()
        let first = ConfigSnapshot(generation: 0, config: config)
        #expect(profiles.activeName(in: first) == "coding")
        #expect(profiles.activate("other", in: first))
        #expect(profiles.activeName(in: first) == "other")
        #expect(!profiles.activate("missing", in: first))
        #expect(profiles.activeName(in: first) == "other", "an unknown name changes nothing")
        #expect(profiles.activate(nil, in: first) && profiles.activeName(in: first) == nil)
        let reloaded = ConfigSnapshot(generation: 1, config: config)
        #expect(profiles.activeName(in: reloaded) == "coding", "a reload returns to hooks.on_startup.profile")
        #expect(profiles.pin("public", in: reloaded) == "variant")
        #expect(profiles.pin("disabled", in: reloaded) == nil)
    }

    static func request(_ method: HTTPMethod, _ uri: String, body: String = "") -> ProxyRequest {
        EndpointShapeTests.request(method, uri, body: body)
    }

    /// Routing: the pinned target is what the relay asks the supervisor for (and what `setParamsByID` matches); a
    /// disabled id is a 404; nothing changes without a profile.
    @Test func requestsAreRoutedThroughTheActiveProfile() async throws {
        let router = ProxyRouter(config: try Self.load(), provider: FixedUpstreamProvider())
        func routed(_ model: String) -> String? {
            let decision = router.decide(
                Self.request(.POST, "/v1/chat/completions", body: "{\"model\":\"\(model)\",\"stream\":false}"))
            if case .relay(let settings) = decision { return settings.requestedModel }
            if case .respond(let response) = decision { return "\(response.status)" }
            return nil
        }
        #expect(routed("public") == "404", "no profile: 'public' names nothing")
        #expect(routed("real") == "real")
        router.profiles.activate("coding", in: router.store.current)
        #expect(routed("public") == "variant")
        #expect(routed("real") == "hidden")
        #expect(routed("disabled") == "404")
        #expect(routed("nick") == "nick")
    }

    @Test func listingAndSwitchingThroughTheAPI() async throws {
        let router = ProxyRouter(config: try Self.load(), provider: FixedUpstreamProvider())
        var response = try await EndpointShapeTests.response(router.decide(Self.request(.GET, "/api/profiles")))
        #expect(response.status == 200)
        var object = try EndpointShapeTests.object(response.body)
        #expect(object["active"] is NSNull)
        let listed = try #require(object["profiles"] as? [[String: Any]])
        #expect(listed.map { $0["id"] as? String } == ["coding", "other"])
        #expect(listed.first?["description"] as? String == "Coding profile")
        let pins = try #require(listed.first?["pins"] as? [String: String])
        #expect(pins == ["public": "variant", "disabled": "", "real": "hidden", "byAlias": "nick"])

        let switches: [(body: String, status: Int, active: String?)] = [
            ("{\"name\":\"coding\"}", 200, "coding"),
            ("{\"name\":\"missing\"}", 404, "coding"),
            ("{\"nome\":\"other\"}", 400, "coding"),
            ("{\"name\":3}", 400, "coding"),
            ("not json", 400, "coding"),
            ("{\"name\":null}", 200, nil),
            ("{\"name\":\"other\"}", 200, "other"),
        ]
        for step in switches {
            response = try await EndpointShapeTests.response(
                router.decide(Self.request(.PUT, "/api/profiles/active", body: step.body)))
            #expect(response.status == step.status, "\(step.body): \(response.body)")
            #expect(router.profiles.activeName(in: router.store.current) == step.active, "\(step.body)")
            object = try EndpointShapeTests.object(response.body)
            if step.status == 200 {
                #expect((object["active"] as? String) == step.active)
            } else {
                #expect((object["error"] as? [String: Any])?["code"] as? Int == step.status)
            }
        }
        response = try await EndpointShapeTests.response(router.decide(Self.request(.POST, "/api/profiles/active")))
        #expect(response.status == 405)
    }
}
