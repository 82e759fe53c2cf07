import ArgumentParser
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Concurrent clients stream chat completions through the proxy in a loop; counts statuses (the 5xx must be zero).
struct LoadRound: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "C clients stream requests back to back for S seconds; report statuses and latency."
    )

    @Option(help: "Proxy port on 127.0.0.1.") var port: Int
    @Option(help: "Concurrent clients, each on its own keep-alive connection.") var clients = 64
    @Option(help: "Duration in seconds.") var seconds = 30.0
    @Option(help: "Model id in the request.") var model = "fast"

    func run() async throws {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(seconds * 1e9))
        let results = try await withThrowingTaskGroup(of: ClientTally.self) { group in
            for _ in 0..<clients {
                group.addTask { try await runClient(until: deadline) }
            }
            var total = ClientTally()
            for try await tally in group { total.merge(tally) }
            return total
        }
        let statuses = results.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        print("requests: \(results.completed) completed, \(results.failed) failed at the transport level")
        print("statuses: \(statuses.joined(separator: ", "))")
        print("5xx: \(results.statuses.filter { $0.key >= 500 }.values.reduce(0, +))")
        print("latency (request sent → response end): \(summary(results.latencies))")
        print("throughput: \(String(format: "%.1f", Double(results.completed) / seconds)) streamed responses/s")
    }

    func runClient(until deadline: NIODeadline) async throws -> ClientTally {
        var tally = ClientTally()
        while NIODeadline.now() < deadline {
            do {
                let channel = try await connect()
                try await channel.executeThenClose { inbound, outbound in
                    var responses = inbound.makeAsyncIterator()
                    while NIODeadline.now() < deadline {
                        let start = NIODeadline.now()
                        try await outbound.write(contentsOf: request())
                        let status = try await readResponse(&responses)
                        tally.statuses[status, default: 0] += 1
                        tally.completed += 1
                        tally.latencies.append(
                            Double(NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
                    }
                }
            } catch {
                tally.failed += 1
            }
        }
        return tally
    }

    func connect() async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                }
            }
    }

    func request() -> [HTTPClientRequestPart] {
        let json = "{\"model\":\"\(model)\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions")
        head.headers.add(name: "Host", value: "bench")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(json.utf8.count)")
        return [.head(head), .body(.byteBuffer(ByteBuffer(string: json))), .end(nil)]
    }

    /// Reads one whole response; returns its status.
    func readResponse(
        _ responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    ) async throws -> Int {
        var status = 0
        while let part = try await responses.next() {
            switch part {
            case .head(let response): status = Int(response.status.code)
            case .body: break
            case .end: return status
            }
        }
        throw ChannelError.eof
    }
}

struct ClientTally: Sendable {
    var statuses: [Int: Int] = [:]
    var completed = 0
    var failed = 0
    var latencies: [Double] = []

    mutating func merge(_ other: ClientTally) {
        statuses.merge(other.statuses, uniquingKeysWith: +)
        completed += other.completed
        failed += other.failed
        latencies += other.latencies
    }
}
