import DurationMath
import FakeUpstream
import Foundation
import Harness
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import RawHTTP
import TestSupport
import Testing

/// The recorder end to end over loopback: a `FakeUpstreamServer` plays a script, the `Recorder` sits in front, a
/// raw client talks to it; and every committed recording replays byte for byte.
@Suite struct RecorderTests {
    /// A script whose writes are held by gates that the test opens only once the client has every byte written so
    /// far: each upstream write is then its own read at the recorder however loaded the machine is (the next write
    /// cannot exist before the previous one was forwarded). A wait after each gate gives every recorded gap a lower
    /// bound that load cannot break. Content-length framing, so no terminator shares a read with the last write; the
    /// event split inside `é` (after bytes 7 and 13) is written as three writes.
    static let script = """
        description: known boundaries and gaps
        strict: true
        responses:
          - match: {method: POST, path: /v1/chat/completions}
            steps:
              - wait: 100ms
              - status: 200
                framing: content-length
                headers: {Content-Type: text/event-stream}
              - gate: one
              - wait: 120ms
              - write: "data: one\\n\\n"
              - gate: two
              - wait: 100ms
              - write: "data: {"
              - gate: three
              - wait: 150ms
              - write: {hex: "22 61 22 3a 22 c3"}
              - gate: four
              - wait: 110ms
              - write: {hex: "a9 22 7d 0a 0a"}
              - gate: five
              - wait: 130ms
              - write: "data: [DONE]\\n\\n"
              - end: close
        """
    static let gates = ["one", "two", "three", "four", "five"]
    /// The scripted wait after each gate, in seconds.
    static let waitsAfterGates = [0.120, 0.100, 0.150, 0.110, 0.130]

    /// A plain stream with no gates, for tests about the file's contents rather than its timing.
    static let simpleScript = """
        description: a short stream
        responses:
          - match: {method: POST, path: /v1/chat/completions}
            steps:
              - status: 200
                headers: {Content-Type: text/event-stream}
              - write: "data: one\\n\\n"
              - end: close
        """

    @Test func recordsTheUpstreamsWriteBoundariesBytesAndGaps() async throws {
        let scenario = try ScenarioParser.parse(yaml: Self.script, file: "boundaries.yaml")
        let session = try await RecorderRig.start(scenario: scenario)
        let client = try await RawTCPClient.connect(port: session.recorderPort)
        try await client.send(RawClient.post("/v1/chat/completions", body: #"{"stream":true}"#))
        for (index, gate) in Self.gates.enumerated() {
            // Once the client has all `index + 1` writes, the recorder has read them: open the next one.
            let journal = try await session.upstream.waitFor(timeout: .seconds(30), "write \(index + 1)") {
                ($0.requests.first?.writes.count ?? 0) > index
            }
            let written = try #require(journal.requests.first).writes.reduce(0) { $0 + $1.byteCount }
            try await client.waitForBytes(written, timeout: .seconds(30))
            session.upstream.releaseGate(gate)
        }
        #expect(try await client.waitForEnding(timeout: .seconds(30)) == .eof)
        let received = client.snapshot
        await client.close()
        let file = try await session.nextFile()
        try await session.stop()

        let journal = try #require(session.upstream.journal.snapshot.requests.first)
        let served = journal.writes.map(\.bytes.bytes)
        let recorded = try RecordedSteps(file: file.path)
        #expect(served.count == Self.gates.count + 1)
        #expect(recorded.writes.map(\.bytes) == served, "one write step per upstream write, same bytes")
        #expect(received.bytes == served.flatMap { $0 }, "the client got exactly the upstream's bytes")
        #expect(recorded.ending == .close)

        // Offsets: the recorder's clock starts when it forwarded the request, before the fake got it, and it reads
        // each write after the fake made it, so a recorded offset is never below the served one (both on the same
        // monotonic clock; 2 µs for the file's rounding to the microsecond). Above it by the delivery time only:
        // 1 s (× the timing factor) is far more than a loaded 2-core machine needs (seen up to 64 ms in 12 parallel
        // full-suite runs, most of it the request's forwarding), and still fails a recorder that
        // stamps reads late (at the file's writing) or in the wrong unit. The exact offset-to-wait arithmetic is
        // RecorderWriterTests.manyOddOffsetsAddUpWithoutDrift.
        let servedOffsets = journal.writes.map { Double($0.offset) / 1e9 }
        let recordedOffsets = recorded.writes.map(\.at.seconds)
        let rounding = 0.000_002
        for (index, (servedAt, recordedAt)) in zip(servedOffsets, recordedOffsets).enumerated() {
            #expect(recordedAt >= servedAt - rounding, "write \(index): served at \(servedAt) s, recorded \(recordedAt) s")
            #expect(
                recordedAt - servedAt <= 1.0 * TimingSlack.factor,
                "write \(index): served at \(servedAt) s, recorded \(recordedAt) s")
        }
        // Gaps: write k was made at least its scripted wait after the gate opened, and the gate opened after the
        // recorder had read write k - 1, so every recorded gap is at least the scripted wait, whatever the load.
        for index in 1..<min(recordedOffsets.count, Self.waitsAfterGates.count + 1) {
            let gap = recordedOffsets[index] - recordedOffsets[index - 1]
            #expect(gap >= Self.waitsAfterGates[index - 1] - rounding, "gap \(index): recorded \(gap) s")
        }
    }

    @Test func secretsAreRedactedInTheFileButReachTheUpstream() async throws {
        let scenario = try ScenarioParser.parse(yaml: Self.simpleScript, file: "simple.yaml")
        let session = try await RecorderRig.start(scenario: scenario, closeGrace: .milliseconds(50))
        let secrets = [
            ("Authorization", "Bearer sk-live-123456"), ("x-api-key", "key-abcdef"), ("Cookie", "session=s3cr3t"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
        ]
        _ = try await RawClient.exchange(
            port: session.recorderPort,
            request: RawClient.post("/v1/chat/completions", body: "{}", headers: secrets + [("X-Trace", "visible")]))
        let file = try await session.nextFile()
        try await session.stop()

        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        for (_, value) in secrets {
            let secretPart = value.split(separator: " ").last.map(String.init) ?? value
            #expect(!text.contains(secretPart), "\(secretPart) leaked into the file")
        }
        #expect(text.contains("#   Authorization: Bearer [redacted]"))
        #expect(text.contains("#   x-api-key: [redacted]"))
        #expect(text.contains("#   Cookie: [redacted]"))
        #expect(text.contains("#   Proxy-Authorization: Basic [redacted]"))
        #expect(text.contains("#   X-Trace: visible"))
        let upstreamHeaders = try #require(session.upstream.journal.snapshot.requests.first).headers
        for (name, value) in secrets {
            #expect(
                upstreamHeaders.contains { $0.name == name && $0.value == value }, "\(name) must reach the upstream")
        }
    }

    @Test func aKeptAliveConnectionRecordsEachExchangeAsACleanEnding() async throws {
        let scenario = try ScenarioParser.parse(
            yaml: """
                description: keep-alive
                responses:
                  - match: {path: /health}
                    steps: [{status: 200, framing: content-length}, {write: "{\\"status\\":\\"ok\\"}"}]
                """,
            file: "keepalive.yaml")
        let session = try await RecorderRig.start(scenario: scenario, closeGrace: .milliseconds(50))
        let request = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let body = Array(#"{"status":"ok"}"#.utf8)
        let single =
            HTTPWire.headBytes(
                ResponseHead(status: 200, framing: .contentLength(declared: nil)), bodyLength: body.count) + body
        let received = try await RawClient.exchange(
            port: session.recorderPort, requests: [request, request], until: single.count * 2)
        #expect(received.bytes == single + single)
        let first = try await session.nextFile()
        let second = try await session.nextFile()
        try await session.stop()

        #expect(session.upstream.journal.snapshot.connections.count == 1, "one upstream connection, kept alive")
        for file in [first, second] {
            let steps = try RecordedSteps(file: file.path)
            #expect(steps.ending == .clean)
            #expect(steps.writes.flatMap(\.bytes) == single)
        }
    }

    /// Both of the recorder's sockets (the client's, as accepted, and its own to the upstream) have Nagle off and
    /// nothing else switched on: `SO_DEBUG`, set by mistake, made every connection fail when not run as root.
    @Test func theRecordersSocketsHaveNagleOffAndNothingElse() async throws {
        let scenario = try ScenarioParser.parse(
            yaml: "description: keep-alive\nresponses:\n  - match: {path: /health}\n    steps: [{status: 200, framing: content-length}, {write: ok}]\n",
            file: "keepalive.yaml")
        let session = try await RecorderRig.start(scenario: scenario, closeGrace: .milliseconds(50))
        let client = try await RawTCPClient.connect(port: session.recorderPort)
        _ = try await client.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        let received = try await client.waitFor(timeout: .seconds(30), "the answer") { $0.text.contains("\r\n\r\n") && $0.text.contains("ok") }
        #expect(received.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        let sockets = ConnectedTCPSockets.ofThisProcess()
        let accepted = sockets.filter { $0.localPort == session.recorderPort }
        let toUpstream = sockets.filter { $0.remotePort == session.upstreamPort }
        #expect(accepted.count == 1, "\(sockets)")
        #expect(toUpstream.count == 1, "\(sockets)")
        for socket in accepted + toUpstream {
            #expect(socket.noDelay == 1, "\(socket)")
            #expect(socket.debug == 0, "\(socket)")
        }
        await client.close()
        try await session.stop()
    }

    /// The file's ending mirrors what the upstream did; a client that gives up first leaves a `hang`.
    @Test(arguments: [(Ending.rst, Ending.rst), (.fin, .fin), (.hang, .hang), (.close, .close)])
    func theEndingMirrorsTheUpstream(scripted: Ending, recorded: Ending) async throws {
        let scenario = try ScenarioParser.parse(
            yaml: """
                description: endings
                responses:
                  - steps:
                      - status: 200
                      - wait: 50ms
                      - write: "data: a\\n\\n"
                      - wait: 50ms
                      - end: \(scripted.rawValue)
                """,
            file: "endings.yaml")
        let rig = try await RecorderRig.start(scenario: scenario)
        let request = RawClient.post("/v1/chat/completions", body: "{}")
        // With a hang the upstream never ends, so the client stops once it has the head and the event.
        let received = try await RawClient.exchange(
            port: rig.recorderPort, request: request, until: scripted == .hang ? Self.headAndEventLength : nil)
        let file = try await rig.nextFile()
        try await rig.stop()

        let steps = try RecordedSteps(file: file.path)
        #expect(steps.ending == recorded)
        #expect(received.bytes == steps.writes.flatMap(\.bytes))
        if scripted == .hang {
            #expect(try String(contentsOfFile: file.path, encoding: .utf8).contains("# Note: the client closed"))
        }
    }

    /// A body longer than its Content-Length: the extra bytes reach the client, so they are in the file too.
    @Test func bytesAfterACompleteResponseAreRecorded() async throws {
        // Gates the test opens once the client has the previous write keep each write its own read at the recorder
        // under any load. The close follows the extra bytes at once; the recorder's grace after the complete
        // response (10 s × the timing factor) only has to outlast the test opening the gate, so the file says
        // `close` (with no close the recording would end `clean` after the grace).
        let scenario = try ScenarioParser.parse(
            yaml: """
                description: too short
                responses:
                  - steps:
                      - status: 200
                        framing: content-length
                        contentLength: 2
                      - gate: ok
                      - write: "ok"
                      - gate: more
                      - write: " and more"
                      - end: close
                """,
            file: "too-short.yaml")
        let rig = try await RecorderRig.start(scenario: scenario, closeGrace: TimingSlack.scaled(.seconds(10)))
        let client = try await RawTCPClient.connect(port: rig.recorderPort)
        try await client.send(RawClient.post("/v1/completions", body: "{}"))
        for (index, gate) in ["ok", "more"].enumerated() {
            let journal = try await rig.upstream.waitFor(timeout: .seconds(30), "write \(index + 1)") {
                ($0.requests.first?.writes.count ?? 0) > index
            }
            try await client.waitForBytes(
                try #require(journal.requests.first).writes.reduce(0) { $0 + $1.byteCount }, timeout: .seconds(30))
            rig.upstream.releaseGate(gate)
        }
        #expect(try await client.waitForEnding(timeout: .seconds(30)) == .eof)
        let received = client.snapshot
        await client.close()
        let file = try await rig.nextFile()
        try await rig.stop()
        let steps = try RecordedSteps(file: file.path)
        #expect(steps.writes.map(\.bytes).dropFirst() == [Array("ok".utf8), Array(" and more".utf8)])
        #expect(received.bytes == steps.writes.flatMap(\.bytes))
        #expect(steps.ending == .close)
    }

    /// The fake's default head plus one chunk `data: a\n\n`.
    static let headAndEventLength =
        HTTPWire.headBytes(ResponseHead(status: 200), bodyLength: 0).count
        + HTTPWire.chunk(Array("data: a\n\n".utf8)).count

    @Test func anUnreachableUpstreamGetsAnOpenAIErrorAndNoFile() async throws {
        let directory = try TemporaryDirectory()
        let recorder = Recorder(
            configuration: RecorderConfiguration(
                upstream: UpstreamURL(host: "127.0.0.1", port: try await RawClient.closedPort()),
                outputDirectory: directory.path), logger: quietLogger)
        let port = try await recorder.start()
        let received = try await RawClient.exchange(port: port, request: RawClient.post("/v1/completions", body: "{}"))
        try await recorder.stop()
        let text = String(decoding: received.bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        #expect(text.contains(#""type":"upstream_unreachable""#))
        #expect(text.contains("cannot connect to the upstream http://127.0.0.1:"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }
}

/// Every committed recording in `Scenarios/recorded/` replays through the fake byte for byte.
@Suite struct RecordedScenarioReplayTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scenarios/recorded").path

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func atLeastThreeRecordingsFromARealServerAreCommitted() {
        #expect(Self.files.count >= 3, "Scenarios/recorded/ has \(Self.files.count) files")
    }

    @Test(arguments: files)
    func replaysByteIdentically(file: String) async throws {
        let path = (Self.directory as NSString).appendingPathComponent(file)
        let scenario = try ScenarioParser.parse(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
        let steps = try RecordedSteps(scenario: scenario)
        let match = try #require(scenario.rules.first?.match)
        let method = try #require(match.method)
        let target = try #require(match.path)
        let server = FakeUpstreamServer(
            responder: ScenarioResponder(scenarios: [scenario], timeScaleOverride: 0.25), logger: quietLogger)
        let port = try await server.start()
        let expected = steps.writes.flatMap(\.bytes)
        let request =
            method == "GET"
            ? Array("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            : RawClient.post(target, method: method, body: "{}")
        // A kept-alive replay never closes, so the client stops at the expected length; a closing one at EOF.
        let received = try await RawClient.exchange(
            port: port, request: request, until: steps.ending == .clean ? expected.count : nil)
        try await server.stop()

        #expect(received.bytes.count == expected.count)
        #expect(received.bytes == expected, "the replay differs from \(file)")
        #expect(received.closed == (steps.ending != .clean))
        let served = try #require(server.journal.snapshot.requests.first).writes.map(\.bytes.bytes)
        #expect(served == steps.writes.map(\.bytes), "each recorded write is one TCP write on replay")
    }
}

// MARK: Helpers

/// Tests never bootstrap logging; warnings and worse still show.
let quietLogger: Logger = {
    var logger = Logger(label: "recorder-test")
    logger.logLevel = .warning
    return logger
}()

/// A fake upstream playing a scenario, and a recorder in front of it writing into a temporary directory.
struct RecorderRig {
    let upstream: FakeUpstreamServer
    let recorder: Recorder
    let recorderPort: Int
    let upstreamPort: Int
    let directory: TemporaryDirectory
    let files: AsyncStream<RecordedFile>

    /// `closeGrace` decides between `close` and `clean` for an upstream that closes right after a complete response:
    /// the default (5 s × the timing factor) is longer than any stall between that response and the FIN, and costs
    /// nothing when the upstream closes (the close ends the recording); tests of kept-alive exchanges pass a short one.
    static func start(
        scenario: Scenario, closeGrace: Duration = TimingSlack.scaled(.seconds(5))
    ) async throws -> RecorderRig {
        let upstream = FakeUpstreamServer(
            responder: ScenarioResponder(scenarios: [scenario]), logger: quietLogger)
        let upstreamPort = try await upstream.start()
        let directory = try TemporaryDirectory()
        let (files, continuation) = AsyncStream.makeStream(of: RecordedFile.self)
        let recorder = Recorder(
            configuration: RecorderConfiguration(
                upstream: UpstreamURL(host: "127.0.0.1", port: upstreamPort), outputDirectory: directory.path,
                closeGrace: closeGrace, onRecorded: { continuation.yield($0) }), logger: quietLogger)
        let port = try await recorder.start()
        return RecorderRig(
            upstream: upstream, recorder: recorder, recorderPort: port, upstreamPort: upstreamPort, directory: directory,
            files: files)
    }

    /// The next file the recorder wrote, in the order they were finished.
    func nextFile() async throws -> RecordedFile {
        var iterator = files.makeAsyncIterator()
        let file = try #require(await iterator.next())
        #expect(file.failure == nil)
        return file
    }

    func stop() async throws {
        try await recorder.stop()
        try await upstream.stop()
    }
}

/// The head and writes of a recorded scenario with their offsets, as the player will send them.
struct RecordedSteps {
    var writes: [(at: Duration, bytes: [UInt8])] = []
    var ending: Ending = .clean

    init(file: String) throws {
        try self.init(scenario: ScenarioParser.parse(yaml: String(contentsOfFile: file, encoding: .utf8), file: file))
    }

    init(scenario: Scenario) throws {
        var cursor = Duration.zero
        for step in try #require(scenario.rules.first?.responses.first).steps {
            switch step {
            case .wait(let duration): cursor += duration
            case .head(let head):
                #expect(head.framing == .raw)
                writes.append((cursor, HTTPWire.headBytes(head, bodyLength: 0)))
            case .write(let bytes): writes.append((cursor, bytes))
            case .end(let end): ending = end
            default: Issue.record("a recording has only wait, status, write and end steps, got \(step)")
            }
        }
    }
}

/// A directory under the system's temporary directory, removed when the value is released.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("recorder-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A loopback client that writes raw request bytes and collects every byte until the server closes (or, for a
/// kept-alive response, until an expected count), with a generous deadline so a bug fails instead of hanging.
enum RawClient {
    struct Received: Sendable {
        var bytes: [UInt8]
        var closed: Bool
    }

    static func post(
        _ path: String, method: String = "POST", body: String, headers: [(String, String)] = []
    ) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return Array((head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }

    static func exchange(
        port: Int, request: [UInt8], until count: Int? = nil, deadline: Duration = .seconds(30)
    ) async throws -> Received {
        try await exchange(port: port, requests: [request], until: count, deadline: deadline)
    }

    /// Sends `requests` together on one connection (pipelined); the recorder answers them in order.
    static func exchange(
        port: Int, requests: [[UInt8]], until count: Int? = nil, deadline: Duration = .seconds(30)
    ) async throws -> Received {
        let client = try await RawTCPClient.connect(port: port)
        try await client.send(requests.flatMap { $0 })
        let received =
            (try? await client.waitFor(timeout: deadline, "the end or \(count ?? 0) bytes") { received in
                received.ending != nil || count.map { received.bytes.count >= $0 } == true
            }) ?? client.snapshot
        await client.close()
        return Received(bytes: received.bytes, closed: received.ending != nil)
    }

    /// A port nothing listens on: bound, then released.
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }
}
