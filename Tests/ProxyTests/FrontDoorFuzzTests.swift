import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// Item 5 of issue 12: random and mutated request bytes, split at random points and sent with random gaps, into the
/// proxy's real front door (NIO's codec, the byte tap, the client timeouts, the error responder, the connection
/// handler, the router and the relay) on `EmbeddedChannel`s with driven time. Seeded (`FRONT_DOOR_SEED` picks
/// another seed; a failure names the case) and bounded, so it is exact and takes a second or two.
///
/// For every input: no crash; the connection is closed within ``bound`` of the client's last byte (every request
/// is answered within the upstream head bound, every silence ends in a timeout), so a client always gets an answer
/// or a close; what the client received is a sequence of framed responses (Content-Length or chunked; only a
/// last answer with `Connection: close` may be delimited by the close); no request is left counted in flight; and a
/// well-formed request on a fresh connection to the same server is answered.
@Suite struct FrontDoorFuzzTests {
    static let limits = ClientLimits(
        maxRequestBodySize: 4096, maxHeaderCount: 20, maxHeaderBytes: 2048, maxHeaderLineBytes: 512,
        idleTimeout: .seconds(20), headerTimeout: .seconds(10), bodyTimeout: .seconds(15))
    static let upstreamHeadBound = Duration.seconds(5)
    /// Three pipelined requests relayed one after another (5 s each), then the idle bound; a head begun on the idle
    /// clock (idle + header) is shorter.
    static let bound = Duration.seconds(3 * 5 + 20)
    static let cases = 400

    @Test func randomAndMutatedRequestsAlwaysEndInAnAnswerOrAClose() throws {
        let seed = ProcessInfo.processInfo.environment["FRONT_DOOR_SEED"].flatMap { UInt64($0) } ?? 12
        let rig = FrontDoorRig(limits: Self.limits, responseHeaderTimeout: Self.upstreamHeadBound)
        var inputs = FrontDoorInputs(seed: seed)
        var longest = Duration.zero
        var statuses: [Int: Int] = [:]
        for index in 0..<Self.cases {
            let pieces = inputs.next()
            let label = "seed \(seed) case \(index): \(String(decoding: pieces.flatMap(\.bytes), as: UTF8.self).debugDescription)"
            let channel = try rig.connect()
            var received: [UInt8] = []
            for piece in pieces {
                rig.advance(by: piece.gap)
                received += rig.drain(channel)
                guard channel.isActive else { break }
                _ = try? channel.writeInbound(ByteBuffer(bytes: piece.bytes))
            }
            let lastByte = rig.now
            while channel.isActive, rig.now - lastByte < Self.bound {
                rig.advance(by: .milliseconds(500))
            }
            received += rig.drain(channel)
            #expect(!channel.isActive, "still open \(Self.bound) after the last byte: \(label)")
            longest = max(longest, rig.now - lastByte)
            switch Self.framingProblem(received) {
            case .some(let problem):
                Issue.record("\(problem): \(String(decoding: received, as: UTF8.self).debugDescription) for \(label)")
            case .none:
                for status in Self.statuses(received) { statuses[status, default: 0] += 1 }
            }
            #expect(rig.tracker.inFlight == 0, "a request left in flight: \(label)")

            let fresh = try rig.connect()
            try fresh.writeInbound(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"))
            let answer = String(decoding: rig.drain(fresh), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.hasSuffix("\r\n\r\nOK"), "\(answer) after \(label)")
            #expect(!fresh.isActive)
        }
        if ProcessInfo.processInfo.environment["FRONT_DOOR_VERBOSE"] != nil {
            print("front door: \(Self.cases) cases, answers by status \(statuses.sorted { $0.key < $1.key }), longest to close \(longest)")
        }
        // The inputs reach the interesting answers (a fuzz that only ever saw 400 would prove little).
        for status in [200, 400, 408, 413, 431, 501, 504] {
            #expect(statuses[status, default: 0] > 0, "no \(status) among \(statuses)")
        }
        #expect(longest <= Self.bound)
    }

    /// Why `bytes` is not a sequence of framed HTTP/1.x responses, or nil.
    static func framingProblem(_ bytes: [UInt8]) -> String? {
        var rest = bytes[...]
        let crlf2: [UInt8] = Array("\r\n\r\n".utf8)
        while !rest.isEmpty {
            guard rest.starts(with: Array("HTTP/1.1 ".utf8)) || rest.starts(with: Array("HTTP/1.0 ".utf8)) else {
                return "not a status line"
            }
            guard let headEnd = rest.firstRange(of: crlf2) else { return "a head cut short" }
            let lines = String(decoding: rest[..<headEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            guard let status = Int(lines[0].dropFirst(9).prefix(3)), (100..<600).contains(status) else {
                return "bad status"
            }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { return "bad header line" }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let body = rest[headEnd.upperBound...]
            func isNextResponse(_ slice: ArraySlice<UInt8>) -> Bool { slice.isEmpty || slice.starts(with: Array("HTTP/1.".utf8)) }
            if status == 204 || status == 304 || (100..<200).contains(status) {
                // No body by definition (RFC 9112 §6.3), whatever the headers say: the CORS preflight's 204.
                guard isNextResponse(body) else { return "bytes after a \(status), which has no body" }
                rest = body
            } else if let length = headers["content-length"].flatMap({ Int($0) }) {
                if body.count >= length, isNextResponse(body.dropFirst(length)) {
                    rest = body.dropFirst(length)
                } else if isNextResponse(body) {
                    rest = body  // an answer to HEAD: the length of the body it would have had
                } else {
                    return "Content-Length \(length) does not match the body"
                }
            } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
                var chunks = body
                while true {
                    guard let lineEnd = chunks.firstRange(of: Array("\r\n".utf8)),
                        let size = Int(String(decoding: chunks[..<lineEnd.lowerBound], as: UTF8.self), radix: 16),
                        chunks.count >= lineEnd.upperBound - chunks.startIndex + size + 2
                    else { return "a chunked body cut short" }
                    chunks = chunks[(lineEnd.upperBound + size + 2)...]
                    if size == 0 { break }
                }
                rest = chunks
            } else {
                guard headers["connection"]?.lowercased() == "close" else { return "no framing and no Connection: close" }
                rest = rest[rest.endIndex...]
            }
        }
        return nil
    }

    static func statuses(_ bytes: [UInt8]) -> [Int] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "HTTP/1.").dropFirst().compactMap {
            Int($0.dropFirst(2).prefix(3))
        }
    }
}
