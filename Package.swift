// swift-tools-version:6.1
import PackageDescription

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
]

let package = Package(
    name: "llama-heartbeat",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Proxy", targets: ["Proxy"]),
        .library(name: "FakeUpstream", targets: ["FakeUpstream"]),
        .executable(name: "harness", targets: ["HarnessCommand"]),
        .executable(name: "llama-proxy", targets: ["llama-proxy"]),
        .executable(name: "nio-floor", targets: ["NIOFloor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // TLS to https peers and TLS serving (-tls-cert-file): BoringSSL behind NIO's channel handlers.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Bytes both sides agree on: SSE framing, heartbeat bytes, the OpenAI error envelope.
        .target(name: "Wire"),
        // The one YAML reader (config and scenarios): nodes with file:line:column, typed getters, "did you mean".
        .target(name: "LocatedYAML", dependencies: ["Yams"]),
        // SplitMix64, the seeded generator the fake's jitter and the tests' random inputs share (stdlib only).
        .target(name: "SeededRandom"),
        // Duration as seconds/nanoseconds and scaled by a time factor, for proxy, fake and harness (stdlib only).
        .target(name: "DurationMath"),
        // The one HTTP/1 response decoder (NIO's, behind a byte tap that keeps every raw read) and the one raw timed
        // TCP client: used by the harness, the tests and the benches.
        .target(
            name: "RawHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "FakeUpstream",
            dependencies: [
                "Wire", "LocatedYAML", "SeededRandom", "DurationMath", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + nio
        ),
        // The one timeline model (lanes of marks over time, client profiles and their deadlines): drawn by the
        // harness's report and recorded live by the proxy for its UI, with its JSON form (stdlib only; Wire for JSON string quoting).
        .target(name: "Timeline", dependencies: ["DurationMath", "Wire"]),
        // The recorder's scenario-file writer: `harness record` and the proxy's capture export write the same files.
        .target(name: "ScenarioWriter", dependencies: ["FakeUpstream", "RawHTTP"]),
        .target(
            name: "Proxy",
            dependencies: [
                "Wire", "LocatedYAML", "DurationMath", "Timeline", "ScenarioWriter", "SeededRandom",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ] + nio
        ),
        // bench/compare.sh's floor: the least a proxy on NIO's HTTP/1 codec does per request (not a product).
        .executableTarget(name: "NIOFloor", dependencies: nio),
        // Replay, client profiles, expectations, the timeline report and the recorder: the harness's own logic.
        .target(
            name: "Harness",
            dependencies: [
                "Wire", "LocatedYAML", "DurationMath", "SeededRandom", "FakeUpstream", "Proxy", "RawHTTP",
                "Timeline", "ScenarioWriter", .product(name: "Logging", package: "swift-log"),
            ] + nio
        ),
        // The `harness` command. Its folder and module are not named `harness`: on a case-insensitive disk (macOS)
        // they would collide with the `Harness` library's.
        .executableTarget(
            name: "HarnessCommand",
            dependencies: [
                "FakeUpstream", "Harness", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "llama-proxy",
            dependencies: [
                "Proxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ProxyBench",
            dependencies: ["RawHTTP", .product(name: "ArgumentParser", package: "swift-argument-parser")] + nio,
            path: "bench/ProxyBench"
        ),
        .executableTarget(name: "SchedulingBench", dependencies: ["FakeUpstream", "RawHTTP"] + nio, path: "bench/SchedulingBench"),
        // Test-only helpers shared by the test targets (timing slack).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .executableTarget(
            name: "RecordReplayBench", dependencies: ["FakeUpstream", "Harness", "Proxy", "RawHTTP", "SeededRandom"] + nio,
            path: "bench/RecordReplayBench"),
        .testTarget(name: "WireTests", dependencies: ["Wire", "SeededRandom"]),
        .testTarget(name: "LocatedYAMLTests", dependencies: ["LocatedYAML", "DurationMath", "Proxy", "FakeUpstream"]),
        .testTarget(name: "RawHTTPTests", dependencies: ["RawHTTP", "SeededRandom"] + nio),
        .testTarget(
            name: "FakeUpstreamTests",
            dependencies: [
                "FakeUpstream", "Wire", "LocatedYAML", "SeededRandom", "DurationMath", "TestSupport", "RawHTTP",
                .product(name: "InMemoryLogging", package: "swift-log"),
                // NIOAsyncTestingEventLoop: the executor's schedule asserted on a clock the test advances.
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ] + nio,
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ProxyTests",
            dependencies: [
                "Proxy", "Wire", "LocatedYAML", "SeededRandom", "DurationMath", "Timeline",
                .product(name: "InMemoryLogging", package: "swift-log"),
                // TestMetrics: the exact metric deltas of a driven request.
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                // EmbeddedEventLoop / EmbeddedChannel: the relay's clock and upstream driven by the tests.
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ] + nio,
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "HarnessTests",
            dependencies: ["Harness", "FakeUpstream", "Proxy", "Wire", "LocatedYAML", "DurationMath", "TestSupport", "RawHTTP"]
                + nio
        ),
        // Real sockets and real child processes (`harness serve` as upstreams).
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Proxy", "FakeUpstream", "Harness", "Wire", "SeededRandom", "DurationMath", "TestSupport", "RawHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ] + nio
        ),
    ],
    swiftLanguageModes: [.v6]
)
