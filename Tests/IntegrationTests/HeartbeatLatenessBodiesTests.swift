import Foundation
import NIOCore
import RawHTTP
import TestSupport
import Testing

/// Performance issue, item 2: large request bodies must not delay other connections' heartbeats. A streaming
/// request waits on a silent upstream (heartbeat every 100 ms) while other clients post 32 MiB chat bodies to the
/// same proxy, one after another (3 in all: the test shares 2 cores with every other suite's timers); every body is read whole and scanned to its end (`model` and `stream` come last, so
/// nothing stops the scan early), then answered 404 (an unknown model: the test measures reading and scanning, not
/// the fake's journal holding 32 MiB per request).
///
/// The bound: heartbeats arriving while the bodies arrive are late by at most 150 ms at the 90th percentile and
/// 500 ms at worst (× TEST_TIMING_SCALE; the whole suite in parallel on 2 cores gave a p90 of 83 ms once). On a quiet machine lateness is a few ms (bench/body.sh: p99 4–7 ms); the
/// bound leaves room for the other suites on 2 shared cores, and is still broken by a body handled on the event
/// loop in a way that costs time (planted: a JSON parse of the whole body on the loop, as before the scanner:
/// heartbeats were late by up to 1.1 s, and the test failed; without it, at load average 13: p90 11.7 ms, max 77 ms).
@Suite(.serialized) struct HeartbeatLatenessBodiesTests {
    static let silent = """
        description: accepts every streaming request and never answers
        responses:
          - match: {method: POST, path: /v1/chat/completions, stream: true}
            steps:
              - end: hang
        """

    /// A chat body of `mebibytes` MiB: a long prompt with escapes, `model` and `stream` last.
    static func body(mebibytes: Int) -> String {
        let line = "caf\\u00e9 \\\"quoted\\\" {\\\"model\\\":\\\"no\\\"} line\\n"
        let count = mebibytes << 20 / line.utf8.count
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"" + String(repeating: line, count: count)
            + "\"}],\"model\":\"nope\",\"stream\":false}"
    }

    static func quantile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded(.up)))]
    }

    @Test func heartbeatsStayOnTimeWhile32MiBBodiesArrive() async throws {
        let interval = Duration.milliseconds(100)
        let fixture = try await ProxyFixture.start(scenario: Self.silent, heartbeat: interval)
        defer { Task { await fixture.stop() } }
        let (stream, _) = try await fixture.send(stream: true)
        defer { stream.closeNow() }
        _ = try await stream.waitFor(timeout: .seconds(10), "two heartbeats") {
            $0.text.components(separatedBy: ": keepalive").count > 2
        }

        let body = Self.body(mebibytes: 32)
        let request =
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let bytes = Array(request.utf8)
        let started = NIODeadline.now()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<1 {
                group.addTask {
                    for _ in 0..<3 {
                        let client = try await RawTCPClient.connect(port: fixture.proxyPort)
                        defer { client.closeNow() }
                        _ = try await client.send(bytes)
                        let response = try await client.response(timeout: TimingSlack.scaled(.seconds(60)))
                        guard response.status == 404 else { return response.status }
                    }
                    return 404
                }
            }
            for try await status in group { #expect(status == 404, "each body read whole and routed") }
        }
        let ended = NIODeadline.now()

        let response = try #require(TimedResponse(stream.snapshot, requestMethod: "POST"))
        let times = Heartbeats.times(in: response)
        // Gaps between consecutive heartbeats that arrived while the bodies were arriving.
        var lateness: [Double] = []
        for (previous, next) in zip(times, times.dropFirst()) where next > started && previous < ended {
            let gap = Double(next.uptimeNanoseconds - previous.uptimeNanoseconds) / 1e6
            // Several heartbeats in one read (the test's client was slow to read) give gaps of 0: early is not late.
            lateness.append(max(0, gap - 100))
        }
        let seconds = Double(ended.uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        #expect(lateness.count >= 3, "heartbeats during \(seconds) s of bodies: \(lateness)")
        guard !lateness.isEmpty else { return }
        let p90 = Self.quantile(lateness, 0.9)
        let worst = lateness.max()!
        print("heartbeat lateness while 3 × 32 MiB bodies arrived (\(String(format: "%.2f", seconds)) s, "
            + "\(lateness.count) gaps): p50 \(Self.quantile(lateness, 0.5)) ms, p90 \(p90) ms, max \(worst) ms")
        #expect(p90 <= 150 * TimingSlack.factor, "p90 lateness \(p90) ms; all: \(lateness)")
        #expect(worst <= 500 * TimingSlack.factor, "max lateness \(worst) ms; all: \(lateness)")
        await fixture.stop()
    }
}
