import Testing

@testable import Proxy

/// The client limits and timeouts at the top level of `config.yaml` (item 1 of issue 12).
@Suite struct ConfigClientLimitsTests {
    @Test func defaults() throws {
        let (config, warnings) = try loadConfig("models: {a: {proxy: 'http://h:1'}}")
        #expect(warnings.isEmpty)
        let limits = config.clientLimits
        #expect(limits.maxRequestBodySize == 256 * 1024 * 1024)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.maxHeaderBytes == 64 * 1024)
        #expect(limits.maxHeaderLineBytes == 16 * 1024)
        #expect(limits.idleTimeout == .seconds(75))
        #expect(limits.headerTimeout == .seconds(30))
        #expect(limits.bodyTimeout == .seconds(60))
    }

    @Test func everyKeyIsRead() throws {
        let (config, warnings) = try loadConfig(
            """
            maxRequestBodySize: 10MiB
            maxHeaderCount: 20
            maxHeaderBytes: 8000
            maxHeaderLineBytes: 2KB
            clientIdleTimeout: 2m
            clientHeaderTimeout: 5
            clientBodyTimeout: 500ms
            models: {a: {proxy: 'http://h:1'}}
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(
            config.clientLimits
                == ClientLimits(
                    maxRequestBodySize: 10 * 1024 * 1024, maxHeaderCount: 20, maxHeaderBytes: 8000,
                    maxHeaderLineBytes: 2000, idleTimeout: .seconds(120), headerTimeout: .seconds(5),
                    bodyTimeout: .milliseconds(500)))
    }

    @Test func zeroDisablesATimeout() throws {
        let (config, _) = try loadConfig(
            "clientIdleTimeout: 0\nclientHeaderTimeout: 0s\nclientBodyTimeout: 0\nmodels: {}")
        #expect(config.clientLimits.idleTimeout == nil)
        #expect(config.clientLimits.headerTimeout == nil)
        #expect(config.clientLimits.bodyTimeout == nil)
    }

    @Test func sizesWithUnits() throws {
        for (text, bytes) in [("1", 1), ("64KiB", 65536), ("3 MB", 3_000_000), ("1GiB", 1 << 30), ("512B", 512)] {
            let (config, _) = try loadConfig("maxRequestBodySize: \(text)\nmodels: {}")
            #expect(config.clientLimits.maxRequestBodySize == bytes, "\(text)")
        }
    }

    @Test(
        arguments: [
            ("maxRequestBodySize: 0\nmodels: {}", "test.yaml:1:21: maxRequestBodySize: expected a size of at least 1 byte"),
            ("maxRequestBodySize: -5\nmodels: {}", "test.yaml:1:21: maxRequestBodySize: expected a size"),
            ("maxRequestBodySize: 12 parsecs\nmodels: {}", "test.yaml:1:21: maxRequestBodySize: expected a size"),
            ("maxRequestBodySize: 2000GiB\nmodels: {}", "at most 1 TiB"),
            ("maxHeaderBytes: lots\nmodels: {}", "test.yaml:1:17: maxHeaderBytes: expected a size"),
            ("maxHeaderLineBytes: [1]\nmodels: {}", "test.yaml:1:21: maxHeaderLineBytes: expected a size of at least 1 byte and at most 1 TiB, in bytes or with a unit (64KiB, 256MiB, 1GiB), got a list"),
            ("maxHeaderCount: 0\nmodels: {}", "test.yaml:1:17: maxHeaderCount: expected a whole number from 1 to 65534"),
            ("maxHeaderCount: 1.5\nmodels: {}", "test.yaml:1:17: maxHeaderCount: expected a whole number"),
            ("clientIdleTimeout: -1\nmodels: {}", "test.yaml:1:20: clientIdleTimeout: expected a duration"),
            ("clientHeaderTimeout: soon\nmodels: {}", "test.yaml:1:22: clientHeaderTimeout: expected a duration"),
            ("clientBodyTimeout: 1e30\nmodels: {}", "test.yaml:1:20: clientBodyTimeout: expected a duration of at most 1000000000 s, got '1e30'"),
        ] as [(String, String)])
    func badValuesAreLocatedErrors(yaml: String, expected: String) throws {
        let error = try #require(configError(yaml))
        #expect(error.description.hasPrefix(expected) || error.description.contains(expected), "\(error)")
        #expect(error.description.hasPrefix("test.yaml:1:"))
    }

    @Test func exampleFileSetsTheDefaults() throws {
        // config.example.yaml writes every key with its default: loading it gives the defaults.
        let (config, _) = try loadConfig(
            """
            maxRequestBodySize: 256MiB
            maxHeaderCount: 100
            maxHeaderBytes: 64KiB
            maxHeaderLineBytes: 16KiB
            clientIdleTimeout: 75s
            clientHeaderTimeout: 30s
            clientBodyTimeout: 60s
            models: {}
            """)
        #expect(config.clientLimits == ClientLimits())
    }
}
