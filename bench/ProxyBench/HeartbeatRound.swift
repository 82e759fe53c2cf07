import ArgumentParser
import Foundation
import NIOCore
import RawHTTP

/// Many streaming requests wait on a silent upstream; measures how late each heartbeat arrives.
struct HeartbeatRound: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeat",
        abstract: "Open N streaming requests that the upstream never answers; report heartbeat lateness."
    )

    @Option(help: "Proxy port on 127.0.0.1.") var port: Int
    @Option(help: "Concurrent streaming requests.") var streams = 1000
    @Option(help: "The model's heartbeatInterval, in seconds.") var interval = 1.0
    @Option(help: "How long to hold the streams open, in seconds.") var seconds = 12.0
    @Option(help: "Model id in the request.") var model = "silent"
    @Option(help: "Write the time all streams were open to this file (for RSS sampling).") var readyFile: String?

    func run() async throws {
        var clients: [RawTCPClient] = []
        var sends: [NIODeadline] = []
        let request = Array(streamingRequest(model: model).readableBytesView)
        for _ in 0..<streams {
            let client = try await RawTCPClient.connect(port: port)
            sends.append(try await client.send(request))
            clients.append(client)
        }
        let openedAt = NIODeadline.now()
        print("opened \(streams) streams")
        if let readyFile { _ = FileManager.default.createFile(atPath: readyFile, contents: Data("ready\n".utf8)) }
        try await Task.sleep(for: .seconds(seconds))
        let heldFor = Double(NIODeadline.now().uptimeNanoseconds - openedAt.uptimeNanoseconds) / 1e9
        // Every heartbeat's arrival time (each arrives in its own read; a late reader may get several in one).
        var times: [Int: [NIODeadline]] = [:]
        for (index, client) in clients.enumerated() {
            let beats = client.snapshot.reads.flatMap { read in
                Array(repeating: read.at, count: Self.heartbeats(in: read.bytes))
            }
            if !beats.isEmpty { times[index] = beats }
            await client.close()
        }

        let intervalMs = interval * 1000
        var lateness: [Double] = []
        var firstLateness: [Double] = []
        var early = 0
        for (index, beats) in times {
            var previous = sends[index]
            for (n, beat) in beats.enumerated() {
                let gap = Double(beat.uptimeNanoseconds - previous.uptimeNanoseconds) / 1e6
                let late = gap - intervalMs
                if late < -5 { early += 1 }
                if n == 0 { firstLateness.append(late) } else { lateness.append(late) }
                previous = beat
            }
        }
        let perStream = Double(lateness.count + firstLateness.count) / Double(max(1, times.count))
        print(
            "streams with heartbeats: \(times.count) of \(streams); "
                + String(format: "%.1f heartbeats per stream over %.1f s", perStream, heldFor))
        print("lateness of heartbeats after the first (gap - interval): \(summary(lateness))")
        print("lateness of the first heartbeat (from request sent):      \(summary(firstLateness))")
        print("heartbeats more than 5 ms early: \(early)")
    }
}

extension HeartbeatRound {
    private static let marker = Array(": keepalive".utf8)

    /// How many heartbeat comments `bytes` holds.
    static func heartbeats(in bytes: [UInt8]) -> Int {
        var count = 0
        var position = 0
        while position + marker.count <= bytes.count {
            if bytes[position] == marker[0], Array(bytes[position..<position + marker.count]) == marker {
                count += 1
                position += marker.count
            } else {
                position += 1
            }
        }
        return count
    }
}
