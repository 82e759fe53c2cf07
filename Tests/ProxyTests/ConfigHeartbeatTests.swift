import LocatedYAML
import Testing
import Wire

@testable import Proxy

@Suite struct ConfigHeartbeatTests {
    @Test func modelOverridesGlobal() throws {
        let (config, _) = try loadConfig(
            """
            heartbeatInterval: 20s
            heartbeatComment: global
            models:
              inherits: {proxy: 'http://h:1'}
              own: {proxy: 'http://h:2', heartbeatInterval: 5, heartbeatComment: mine}
              intervalOnly: {proxy: 'http://h:3', heartbeatInterval: 1m}
              off: {proxy: 'http://h:4', heartbeatInterval: 0}
            """)
        #expect(config.models["inherits"]?.heartbeat == HeartbeatSettings(interval: .seconds(20), comment: "global"))
        #expect(config.models["own"]?.heartbeat == HeartbeatSettings(interval: .seconds(5), comment: "mine"))
        #expect(
            config.models["intervalOnly"]?.heartbeat == HeartbeatSettings(interval: .seconds(60), comment: "global"))
        #expect(config.models["off"]?.heartbeat == HeartbeatSettings(interval: nil, comment: "global"))
    }

    @Test func modelCanTurnOnWhatGlobalTurnsOff() throws {
        let (config, _) = try loadConfig(
            """
            heartbeatInterval: 0
            models:
              a: {proxy: 'http://h:1'}
              b: {proxy: 'http://h:2', heartbeatInterval: '2s'}
            """)
        #expect(config.heartbeat.interval == nil)
        #expect(config.models["a"]?.heartbeat.interval == nil)
        #expect(config.models["b"]?.heartbeat.interval == .seconds(2))
    }

    @Test(arguments: ["0.25", "250ms", "'999ms'"])
    func underOneSecondIsAcceptedWithAWarning(text: String) throws {
        let (config, warnings) = try loadConfig(
            """
            models:
              a: {proxy: 'http://h:1', heartbeatInterval: \(text)}
            """)
        #expect(config.models["a"]?.heartbeat.interval != nil)
        #expect(config.models["a"]!.heartbeat.interval! < .seconds(1))
        #expect(warnings.count == 1)
        #expect(warnings.first?.keyPath == "models.a.heartbeatInterval")
        #expect(warnings.first?.location == SourceLocation(file: "test.yaml", line: 2, column: 47))
    }

    @Test(arguments: ["1", "1s", "15s"])
    func oneSecondOrMoreHasNoWarning(text: String) throws {
        let (_, warnings) = try loadConfig("heartbeatInterval: \(text)\nmodels: {a: {proxy: 'http://h:1'}}")
        #expect(warnings.isEmpty)
    }

    @Test(arguments: ["-1", "-0.5", "'-3s'", "soon", "5 parsecs", "[1]"])
    func negativeOrMalformedIsAnError(text: String) throws {
        let error = try #require(configError("heartbeatInterval: \(text)\nmodels: {}"))
        #expect(error.location == SourceLocation(file: "test.yaml", line: 1, column: 20))
        #expect(error.message.hasPrefix("heartbeatInterval: expected"))
    }

    @Test func commentBecomesTheHeartbeatTheRelayWrites() throws {
        let settings = HeartbeatSettings(interval: .seconds(1), comment: "still working")
        let heartbeat = try SSEHeartbeat(comment: settings.comment)
        #expect(heartbeat.lineFeedBytes == Array(": still working\n\n".utf8))
    }
}
