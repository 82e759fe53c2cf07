import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Posts chat requests with large JSON bodies (a long prompt) and times each one from the first byte sent to the
/// response's end, once straight to the upstream and once through the proxy; bench/body.sh starts both.
struct BodyRound: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "body",
        abstract: "Time large JSON request bodies through the proxy and straight to the upstream."
    )

    @Option(help: "Proxy port on 127.0.0.1.") var port: Int
    @Option(help: "The upstream's own port on 127.0.0.1 (the 'direct' column); 0 skips it.") var directPort = 0
    @Option(help: "Body sizes in MiB, comma-separated.") var sizes = "1,8,32"
    @Option(help: "Requests per size and target (the median is reported).") var repeats = 5
    @Option(help: "Model id in the request.") var model = "sink"
    @Option(help: "The proxy's pid: its resident memory (VmRSS, VmHWM) is read from /proc after each size.")
    var proxyPid: Int?

    func run() async throws {
        let sizeList = sizes.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        print("| body | direct median (min) | proxy median (min) | proxy − direct | proxy status | proxy RSS after / peak |")
        print("|---|---|---|---|---|---|")
        for mebibytes in sizeList {
            let body = Self.chatBody(model: model, bytes: Int(mebibytes * 1_048_576))
            var direct: [Double] = []
            var proxied: [Double] = []
            var statuses: [Int: Int] = [:]
            for _ in 0..<repeats {
                if directPort > 0 { direct.append(try await post(body, port: directPort).milliseconds) }
                let result = try await post(body, port: port)
                proxied.append(result.milliseconds)
                statuses[result.status, default: 0] += 1
            }
            let memory = proxyPid.map(Self.memory(pid:)) ?? "–"
            let directText = direct.isEmpty ? "–" : "\(Self.ms(median(direct))) (\(Self.ms(direct.min()!)))"
            let overhead = direct.isEmpty ? "–" : Self.ms(median(proxied) - median(direct))
            let statusText = statuses.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
            print(
                "| \(String(format: "%.1f", Double(body.readableBytes) / 1_048_576)) MiB | \(directText) | "
                    + "\(Self.ms(median(proxied))) (\(Self.ms(proxied.min()!))) | \(overhead) | \(statusText) | \(memory) |"
            )
        }
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func ms(_ value: Double) -> String { String(format: "%.1f ms", value) }

    /// `VmRSS / VmHWM` of `pid`, in MB.
    static func memory(pid: Int) -> String {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return "?" }
        func field(_ name: String) -> String {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            let kb = line.flatMap { Double($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            return String(format: "%.0f", kb / 1024)
        }
        return "\(field("VmRSS")) / \(field("VmHWM")) MB"
    }

    /// A chat request of about `bytes` bytes: `model` first, a long prompt (words, escaped quotes and newlines,
    /// `\u` escapes and raw UTF-8), `stream` last, so a reader that wants both must pass the whole prompt.
    static func chatBody(model: String, bytes: Int) -> ByteBuffer {
        let head = "{\"model\":\"\(model)\",\"messages\":[{\"role\":\"user\",\"content\":\""
        let tail = "\"}],\"temperature\":0.7,\"stream\":false}"
        let piece = Array("Lorem ipsum \\\"dolor\\\" sit amet, caf\\u00e9 consectetur — adipiscing elit.\\n".utf8)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes + piece.count)
        buffer.writeString(head)
        while buffer.readableBytes + piece.count + tail.utf8.count <= bytes { buffer.writeBytes(piece) }
        buffer.writeRepeatingByte(UInt8(ascii: "x"), count: max(0, bytes - buffer.readableBytes - tail.utf8.count))
        buffer.writeString(tail)
        return buffer
    }

    struct Outcome {
        var status: Int
        var milliseconds: Double
    }

    /// One request on a new connection: head and body written at once, timed to the response's end.
    func post(_ body: ByteBuffer, port: Int) async throws -> Outcome {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions")
        head.headers.add(name: "Host", value: "bench")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        head.headers.add(name: "Connection", value: "close")
        return try await channel.executeThenClose { inbound, outbound in
            let start = NIODeadline.now()
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(body)), .end(nil)])
            var status = 0
            for try await part in inbound {
                switch part {
                case .head(let response): status = Int(response.status.code)
                case .body: break
                case .end:
                    let elapsed = Double(NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
                    return Outcome(status: status, milliseconds: elapsed)
                }
            }
            throw ChannelError.eof
        }
    }
}
