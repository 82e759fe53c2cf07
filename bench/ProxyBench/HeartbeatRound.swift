import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

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
        let group = MultiThreadedEventLoopGroup.singleton
        let recorder = NIOLockedValueBox([Int: [NIODeadline]]())
        let sent = NIOLockedValueBox([Int: NIODeadline]())
        var channels: [any Channel] = []
        let request = streamingRequest(model: model)
        for index in 0..<streams {
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HeartbeatCounter(index: index, recorder: recorder))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            sent.withLockedValue { $0[index] = .now() }
            channel.writeAndFlush(request, promise: nil)
            channels.append(channel)
        }
        let openedAt = NIODeadline.now()
        print("opened \(streams) streams")
        if let readyFile { _ = FileManager.default.createFile(atPath: readyFile, contents: Data("ready\n".utf8)) }
        try await Task.sleep(for: .seconds(seconds))
        for channel in channels { channel.close(promise: nil) }

        let intervalMs = interval * 1000
        var lateness: [Double] = []
        var firstLateness: [Double] = []
        var early = 0
        let times = recorder.withLockedValue { $0 }
        let sends = sent.withLockedValue { $0 }
        for (index, beats) in times {
            guard let start = sends[index] else { continue }
            var previous = start
            for (n, beat) in beats.enumerated() {
                let gap = Double(beat.uptimeNanoseconds - previous.uptimeNanoseconds) / 1e6
                let late = gap - intervalMs
                if late < -5 { early += 1 }
                if n == 0 { firstLateness.append(late) } else { lateness.append(late) }
                previous = beat
            }
        }
        let heldFor = Double(NIODeadline.now().uptimeNanoseconds - openedAt.uptimeNanoseconds) / 1e9
        let perStream = Double(lateness.count + firstLateness.count) / Double(max(1, times.count))
        print(
            "streams with heartbeats: \(times.count) of \(streams); "
                + String(format: "%.1f heartbeats per stream over %.1f s", perStream, heldFor))
        print("lateness of heartbeats after the first (gap - interval): \(summary(lateness))")
        print("lateness of the first heartbeat (from request sent):      \(summary(firstLateness))")
        print("heartbeats more than 5 ms early: \(early)")
    }
}

/// Records the arrival time of every heartbeat on one connection (each arrives in its own read).
final class HeartbeatCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let index: Int
    private let recorder: NIOLockedValueBox<[Int: [NIODeadline]]>
    private static let marker = Array(": keepalive".utf8)

    init(index: Int, recorder: NIOLockedValueBox<[Int: [NIODeadline]]>) {
        self.index = index
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = NIODeadline.now()
        let bytes = Array(buffer.readableBytesView)
        var count = 0
        var position = 0
        while position + Self.marker.count <= bytes.count {
            if bytes[position] == Self.marker[0], Array(bytes[position..<position + Self.marker.count]) == Self.marker {
                count += 1
                position += Self.marker.count
            } else {
                position += 1
            }
        }
        guard count > 0 else { return }
        let index = self.index
        recorder.withLockedValue { $0[index, default: []] += Array(repeating: now, count: count) }
    }
}
