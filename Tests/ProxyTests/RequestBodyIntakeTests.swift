import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// The path of a request body from the client's socket to the upstream's, through the real pipeline: however the
/// bytes are split into reads, the model is found and the upstream receives the body as sent (or with only the
/// `model` value replaced, for `useModelName`).
@Suite struct RequestBodyIntakeTests {
    static let body =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 \\\"model\\\":\\\"no\\\"\"}],\"model\":\"m\","
        + "\"n\":12345678901234567890.5e-3,\"stream\":false}"

    static func request(_ body: String) -> [UInt8] {
        Array("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    @Test(arguments: [nil, "org/real-name"] as [String?])
    func everySplitForwardsTheSameBody(useModelName: String?) throws {
        let rig = FrontDoorRig(limits: ClientLimits(), responseHeaderTimeout: .seconds(5))
        rig.leases.forwardedModelName = useModelName
        let request = Self.request(Self.body)
        let expected = useModelName.map {
            Self.body.replacingOccurrences(of: "\"model\":\"m\"", with: "\"model\":\"\($0)\"")
        } ?? Self.body
        for split in 1..<request.count {
            let channel = try rig.connect()
            let connections = rig.connector.channels.count
            try channel.writeInbound(ByteBuffer(bytes: request[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: request[split...]))
            rig.loop.run()
            #expect(rig.connector.channels.count == connections + 1, "split at \(split): not relayed")
            guard let upstream = rig.connector.channels.last, rig.connector.channels.count > connections else { continue }
            var sent: [UInt8] = []
            while let data = try upstream.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = data { sent += buffer.readableBytesView }
            }
            let text = String(decoding: sent, as: UTF8.self)
            let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
            #expect(text.hasSuffix("\r\n\r\n" + expected), "split at \(split): \(text.debugDescription)")
            #expect(head.contains("Content-Length: \(expected.utf8.count)"), "split at \(split)")
            _ = try? channel.close().wait()
        }
    }
}
