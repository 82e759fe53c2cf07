import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Load generators for a running `llama-proxy`; bench/heartbeat.sh and bench/load.sh start the processes and
/// call these. Loopback only, bounded in time.
@main
struct ProxyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load generators for a running llama-proxy (see bench/README.md).",
        discussion: """
            Examples:
              ProxyBench heartbeat --port 8080 --streams 9000 --interval 1 --seconds 12
              ProxyBench load --port 8080 --clients 64 --seconds 30
              ProxyBench body --port 8080 --direct-port 8081 --sizes 1,8,32
            """,
        subcommands: [HeartbeatRound.self, LoadRound.self, BodyRound.self]
    )
}

/// Percentiles of a sample, in the unit given.
func summary(_ values: [Double], unit: String = "ms") -> String {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return "no samples" }
    func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))] }
    return String(
        format: "p50 %.2f %@  p99 %.2f %@  max %.2f %@  (n=%d)", at(0.5), unit, at(0.99), unit, sorted.last!, unit,
        sorted.count)
}

func streamingRequest(model: String) -> ByteBuffer {
    let json = "{\"model\":\"\(model)\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
    return ByteBuffer(
        string: "POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\n\r\n\(json)")
}
