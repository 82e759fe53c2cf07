import FakeUpstream
import Foundation
import Harness
import Logging
import NIOCore
import NIOPosix
import Proxy
import RawHTTP
import SeededRandom

// Record → replay gap fidelity. A fake upstream plays a stream of `writes` writes with seeded gaps of 5–60 ms;
// `Recorder` records it through a real client; the recorded file is then replayed at scale 1 by a fresh fake and
// read by the same kind of client. Reported: how far each recorded gap is from the gap the fake actually left
// (record error), and how far each replayed gap, as the client saw it, is from the recorded one (replay error),
// and end to end (replayed at the client vs the original writes). Loopback only, about 2 × 3.5 s.

let writes = 100
var random = SplitMix64(seed: 7)
let gapsMilliseconds = (0..<writes).map { _ in Int.random(in: 5...60, using: &random) }

var logger = Logger(label: "bench")
logger.logLevel = .warning

/// The original stream: content-length framing so every write is exactly its bytes, each `data: N` event its own
/// write after its gap.
func originalScenario() throws -> Scenario {
    var yaml = """
        description: record/replay bench
        responses:
          - steps:
              - status: 200
                framing: content-length
                headers: {Content-Type: text/event-stream}

        """
    for (index, gap) in gapsMilliseconds.enumerated() {
        yaml += "      - wait: \(gap)ms\n      - write: \"data: \(index)\\n\\n\"\n"
    }
    yaml += "      - end: close\n"
    return try ScenarioParser.parse(yaml: yaml, file: "bench.yaml")
}

/// When the last byte of each write (of `writeSizes`) arrived, given reads as (bytes, time): a read that carried
/// several writes gives all of them its time.
func arrivalTimes(reads: [(count: Int, at: Double)], writeSizes: [Int]) -> [Double] {
    var result: [Double] = []
    var received = 0
    var readIndex = 0
    var end = 0
    for size in writeSizes {
        end += size
        while received < end && readIndex < reads.count {
            received += reads[readIndex].count
            readIndex += 1
        }
        result.append(reads[max(0, readIndex - 1)].at)
    }
    return result
}

func gaps(_ times: [Double]) -> [Double] {
    zip(times.dropFirst(), times).map { $0 - $1 }
}

func percentiles(_ values: [Double]) -> String {
    let sorted = values.map(abs).sorted()
    guard !sorted.isEmpty else { return "no samples" }
    func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
    return String(
        format: "p50 %.3f ms  p99 %.3f ms  max %.3f ms  (n=%d)", at(0.5), at(0.99), sorted.last!, sorted.count)
}

func milliseconds(_ deadline: NIODeadline, from origin: NIODeadline) -> Double {
    Double(Int64(deadline.uptimeNanoseconds) - Int64(origin.uptimeNanoseconds)) / 1e6
}

let request = Array("POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Length: 2\r\n\r\n{}".utf8)
let output = (NSTemporaryDirectory() as NSString).appendingPathComponent("record-replay-bench-\(UUID().uuidString)")

// 1. Record.
let original = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [try originalScenario()]), logger: logger)
let originalPort = try await original.start()
let (files, continuation) = AsyncStream.makeStream(of: RecordedFile.self)
let recorder = Recorder(
    configuration: RecorderConfiguration(
        upstream: UpstreamURL(host: "127.0.0.1", port: originalPort), outputDirectory: output,
        onRecorded: { continuation.yield($0) }),
    logger: logger)
let recorderPort = try await recorder.start()
_ = try await RawTCPClient.exchange(port: recorderPort, request: request)
func firstFile(_ files: AsyncStream<RecordedFile>) async -> RecordedFile? {
    for await file in files { return file }
    return nil
}
guard let file = await firstFile(files), file.failure == nil else { fatalError("no recording was written") }
try await recorder.stop()
let served = original.journal.snapshot.requests.first.map { $0.writes } ?? []
try await original.stop()
let servedTimes = served.map { Double($0.offset) / 1e6 }

// 2. What the file says.
let recorded = try ScenarioParser.parse(yaml: String(contentsOfFile: file.path, encoding: .utf8), file: file.path)
var recordedWrites: [(at: Double, size: Int)] = []
var cursor = Duration.zero
for step in recorded.rules[0].responses[0].steps {
    switch step {
    case .wait(let duration): cursor += duration
    case .head(let head): recordedWrites.append((cursor.seconds * 1000, HTTPWire.headBytes(head, bodyLength: 0).count))
    case .write(let bytes): recordedWrites.append((cursor.seconds * 1000, bytes.count))
    default: break
    }
}
let servedSizes = served.map(\.byteCount)
let merged = served.count - recordedWrites.count

// 3. Replay at scale 1 and watch it from a client.
let replay = FakeUpstreamServer(
    responder: ScenarioResponder(scenarios: [recorded], timeScaleOverride: 1), logger: logger)
let replayPort = try await replay.start()
let trace = try await RawTCPClient.exchange(port: replayPort, request: request)
let replayJournal = replay.journal.snapshot.requests.first?.writes ?? []
try await replay.stop()
try? FileManager.default.removeItem(atPath: output)
let clientReads = trace.received.reads.map { (count: $0.bytes.count, at: milliseconds($0.at, from: trace.sentAt)) }
let replayServerReads = replayJournal.map { (count: $0.byteCount, at: Double($0.offset) / 1e6) }

let servedGaps = gaps(servedTimes)
let recordedGaps = gaps(recordedWrites.map(\.at))
let recordedPerServed = gaps(
    arrivalTimes(reads: recordedWrites.map { (count: $0.size, at: $0.at) }, writeSizes: servedSizes))
let replayServerGaps = gaps(arrivalTimes(reads: replayServerReads, writeSizes: recordedWrites.map(\.size)))
let clientGaps = gaps(arrivalTimes(reads: clientReads, writeSizes: recordedWrites.map(\.size)))
let clientPerServed = gaps(arrivalTimes(reads: clientReads, writeSizes: servedSizes))
print(
    "writes: \(served.count) (gaps 5–60 ms, seeded); recorded as \(recordedWrites.count) reads "
        + "(\(merged) merged); client reads on replay: \(trace.received.reads.count)")
func report(_ label: String, _ actual: [Double], _ reference: [Double]) {
    print(
        label.padding(toLength: 58, withPad: " ", startingAt: 0) + percentiles(zip(actual, reference).map { $0 - $1 }))
}
report("record error   (recorded gap − gap the fake left):", recordedPerServed, servedGaps)
report("replay, server (replay write gap − recorded gap):", replayServerGaps, recordedGaps)
report("replay, client (gap seen by the client − recorded gap):", clientGaps, recordedGaps)
report("end to end     (gap seen on replay − original gap):", clientPerServed, servedGaps)
