import DurationMath
import FakeUpstream
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Proxy
import TestSupport
import Testing

@testable import Harness

/// `harness soak`'s parts: the mix, the generated config (loaded by the proxy's own loader), `/proc` parsing, the
/// flatness rule, the hang-up checks; then two real soaks through the built `llama-proxy`: a short one passes, and
/// one with a planted fault (a byte of every body flipped before judging) fails with mismatches and exit 1.
@Suite(.serialized) struct SoakTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let scenarios = root.appendingPathComponent("Scenarios").path

    @Test func theMixLoadsFromTheLibraryWithEveryFaultTheIssueNames() throws {
        let cases = try SoakLibrary.cases(directory: Self.scenarios)
        #expect(cases.count == SoakLibrary.entries.count)
        let faults = Set(cases.compactMap(\.fault))
        for fault in ["reset", "stall inside an event", "wrong length", "never ready", "slow load", "client disconnect"] {
            #expect(faults.contains(fault), "\(fault) missing from \(faults.sorted())")
        }
        #expect(cases.contains { $0.kind == .disconnect })
        // Every case checks something.
        #expect(cases.allSatisfy { $0.scenario.spec?.expect != nil })
        // never-ready: its 30 s health-check timeout scaled to the proxy's minimum of 15 s.
        let neverReady = try #require(cases.first { $0.label == "never-ready" })
        #expect(neverReady.timeScale == 0.5)
        // A run's own scale, not its file's: content-length-too-long's top-level run has no timing bound.
        let tooLong = try #require(cases.first { $0.label == "content-length-too-long" })
        #expect(tooLong.timeScale == ReplayTimeScale.fastest)
    }

    @Test func theGeneratedConfigLoadsWithOneSwapGroupPerClient() throws {
        let cases = try SoakLibrary.cases(directory: Self.scenarios)
        let text = SoakProxyConfig.yaml(
            cases: cases, clients: 3, harness: "/opt/it's here/harness", startPort: 21_000, token: "t0")
        let (config, _) = try ConfigLoader.load(yaml: text, file: "soak.yaml", environment: [:])
        #expect(config.models.count == 3 * cases.count)
        #expect(config.healthCheckTimeout == ProxyConfig.minimumHealthCheckTimeout)
        let groups = config.groups.filter { $0.id.hasPrefix("client-") }
        #expect(groups.count == 3)
        #expect(groups.allSatisfy { $0.swap && !$0.exclusive && $0.members.count == cases.count })
        let index = try #require(cases.firstIndex { $0.label == "rst-mid-stream" })
        let model = try #require(config.models[SoakProxyConfig.modelID(client: 2, caseIndex: index)])
        // Quoted path with a quote and a space survives the splitter; the scale goes to the fake.
        #expect(model.command?.first == "/opt/it's here/harness")
        #expect(model.command?.contains("--time-scale") == true)
        #expect(model.command?.last == "\(cases[index].timeScale)")
        // heartbeatInterval 1 s at the run's scale (twice replay's 0.8: 1.6) is 1.6 s.
        #expect(cases[index].timeScale == 1.6)
        #expect(model.heartbeat.interval == .milliseconds(1600))
        #expect(model.environment[SoakProxyConfig.markerVariable] == "t0/" + SoakProxyConfig.modelID(client: 2, caseIndex: index))
        // A slowed build's cases wait as much longer for their models: never-ready's 30 s bound at 0.5 × 5.
        let slowed = SoakProxyConfig.yaml(
            cases: SoakSession.slowed(cases, by: 5), clients: 1, harness: "harness", startPort: 21_000, token: "t0",
            timingScale: 5)
        #expect(try ConfigLoader.load(yaml: slowed, file: "soak.yaml", environment: [:]).0.healthCheckTimeout == .seconds(75))
    }

    @Test func procStatusIsParsed() throws {
        let status = "Name:\tllama-proxy\nVmPeak:\t  50000 kB\nVmRSS:\t   38123 kB\nThreads:\t11\n"
        #expect(ProcessStats.parse(status: status, fileDescriptors: 22) == ProcessStats(
            fileDescriptors: 22, residentKiB: 38123, threads: 11))
        #expect(ProcessStats.parse(status: "Name:\tx\n", fileDescriptors: 1) == nil)
        let own = try #require(ProcessStats.read(pid: getpid()))
        #expect(own.fileDescriptors > 2 && own.residentKiB > 0 && own.threads >= 1)
    }

    @Test func flatMeansNoMoreFdsOrThreadsAndBoundedRSS() {
        let start = ProcessStats(fileDescriptors: 22, residentKiB: 40_000, threads: 10)
        #expect(SoakFlatness(start: start, end: start).problems.isEmpty)
        var end = start
        end.residentKiB += SoakFlatness.residentGrowthLimitKiB
        end.threads -= 1
        #expect(SoakFlatness(start: start, end: end).problems.isEmpty)
        end.residentKiB += 1
        #expect(SoakFlatness(start: start, end: end).problems.count == 1)
        var leak = start
        leak.fileDescriptors += 1
        #expect(SoakFlatness(start: start, end: leak).problems == ["fds grew from 22 to 23"])
        leak = start
        leak.threads += 1
        #expect(SoakFlatness(start: start, end: leak).problems == ["threads grew from 10 to 11"])
    }

    @Test func aGrowthNamesTheDescriptorsThatAreNew() throws {
        // /proc/net/tcp rows: a listener on 127.0.0.1:8080 and a connection in CLOSE_WAIT to it.
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0
               1: 0100007F:1F90 0100007F:A8F2 08 00000000:00000000 00:00000000 00000000     0        0 4712 1 0
            """
        let tcp = Dictionary(uniqueKeysWithValues: OpenDescriptors.parseTCPTable(table))
        #expect(tcp["4711"] == "tcp 127.0.0.1:8080 ↔ 0.0.0.0:0 LISTEN")
        #expect(tcp["4712"] == "tcp 127.0.0.1:8080 ↔ 127.0.0.1:43250 CLOSE_WAIT")
        #expect(OpenDescriptors.describe(target: "socket:[4712]", tcp: tcp) == "tcp 127.0.0.1:8080 ↔ 127.0.0.1:43250 CLOSE_WAIT")
        #expect(OpenDescriptors.describe(target: "socket:[99]", tcp: tcp) == "socket (not TCP)")
        #expect(OpenDescriptors.describe(target: "pipe:[123]", tcp: tcp) == "pipe")
        #expect(OpenDescriptors.added(from: ["pipe", "pipe", "/dev/null"], to: ["/dev/null", "pipe", "pipe", "pipe", "x"]) == ["pipe", "x"])

        let start = ProcessStats(fileDescriptors: 2, residentKiB: 1, threads: 1, descriptors: ["/dev/null", "pipe"])
        let end = ProcessStats(
            fileDescriptors: 4, residentKiB: 1, threads: 1,
            descriptors: ["/dev/null", "pipe", "pipe", "tcp 127.0.0.1:8080 ↔ 127.0.0.1:43250 CLOSE_WAIT"])
        #expect(SoakFlatness(start: start, end: end).problems == [
            "fds grew from 2 to 4 (new: pipe; tcp 127.0.0.1:8080 ↔ 127.0.0.1:43250 CLOSE_WAIT)"
        ])

        // A sanitizer's symbolizer (ThreadSanitizer starts one at a moment of its choosing) is not the program's.
        let symbolizer = OpenDescriptors.describe(target: "pipe:[5]", tcp: [:], pipePeers: ["pipe:[5]": "llvm-symbolizer"])
        #expect(symbolizer == "pipe ↔ llvm-symbolizer (sanitizer)")
        #expect(OpenDescriptors.isSanitizers(symbolizer))
        #expect(OpenDescriptors.describe(target: "pipe:[6]", tcp: [:], pipePeers: ["pipe:[6]": "harness"]) == "pipe ↔ harness")
        #expect(!OpenDescriptors.isSanitizers("pipe ↔ harness"))
        let withSymbolizer = ProcessStats(
            fileDescriptors: 2, residentKiB: 1, threads: 1, descriptors: start.descriptors + [symbolizer, symbolizer])
        #expect(SoakFlatness(start: start, end: withSymbolizer).problems == [])

        // This process, for real: a listening socket it opens is named with its port and state.
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socket >= 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(socket, 1) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let own = try #require(ProcessStats.read(pid: getpid()))
        #expect(own.descriptors.contains("tcp 127.0.0.1:\(port) ↔ 0.0.0.0:0 LISTEN"), "\(own.descriptors)")
    }

    /// A child named `llvm-symbolizer` with pipes to this process, as ThreadSanitizer starts one: its two pipes
    /// are described as the sanitizer's and left out of the count.
    @Test func aSymbolizerChildsPipesAreNotCounted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("soak-symbolizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = directory.appendingPathComponent("llvm-symbolizer")
        try FileManager.default.copyItem(atPath: "/bin/cat", toPath: fake.path)
        let process = Process()
        process.executableURL = fake
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        let own = try #require(ProcessStats.read(pid: getpid()))
        let marked = own.descriptors.filter(OpenDescriptors.isSanitizers)
        #expect(marked.count >= 2, "\(own.descriptors)")
        #expect(marked.allSatisfy { $0 == "pipe ↔ llvm-symbolizer (sanitizer)" })
        #expect(ProcessStats.programs(own.descriptors.count, descriptors: own.descriptors) <= own.descriptors.count - 2)
        #expect(ProcessStats.programs(5, descriptors: ["pipe", "pipe ↔ llvm-symbolizer (sanitizer)"]) == 4)
    }

    @Test(arguments: [(0.5, 1.0), (1.0, 1.0), (5.0, 5.0)])
    func aSlowedBuildStretchesEveryCasesTimeScale(timingScale: Double, factor: Double) throws {
        let cases = try SoakLibrary.cases(directory: Self.scenarios, entries: SoakLibrary.entries)
        let slowed = SoakSession.slowed(cases, by: timingScale)
        #expect(slowed.count == cases.count)
        #expect(zip(cases, slowed).allSatisfy { $1.timeScale == $0.timeScale * factor && $1.label == $0.label })
    }

    @Test func aHungUpClientsBodyMustBeAPrefixAndTheUpstreamMustClose() {
        #expect(SoakJudge.closeCheck(delay: .milliseconds(300), connections: 1).status == .passed)
        #expect(SoakJudge.closeCheck(delay: nil, connections: 1).status == .failed)
        #expect(SoakJudge.closeCheck(delay: .seconds(2), connections: 1).status == .failed)
        #expect(SoakJudge.closeCheck(delay: nil, connections: 0).status == .passed)
        // A slowed build stretches the bound (1.4 s) and its slack alike: 2 s passes at ×2, 3 s does not.
        #expect(SoakJudge.closeCheck(delay: .seconds(2), connections: 1, timingScale: 2).status == .passed)
        #expect(SoakJudge.closeCheck(delay: .seconds(3), connections: 1, timingScale: 2).status == .failed)
    }

    @Test func theModelsStartWidensAtUpwardAndHeartbeatsMaxOnly() throws {
        let expect = Expectations(
            at: .seconds(60), tolerance: .seconds(5), heartbeats: CountExpectation(min: 3, max: 4))
        // 0.8 s of real time at scale 0.05 is 16 s of scenario time: at 60 ± 5 (55…65) becomes 68 ± 13 (55…81:
        // never earlier than before, up to 16 s later), and up to ⌈16 / 15⌉ = 2 more heartbeats.
        let widened = SoakJudge.allowingModelStart(
            expect, modelStart: .milliseconds(800), scale: 0.05, heartbeatInterval: .seconds(15))
        #expect(widened.at == .seconds(68))
        #expect(widened.tolerance == .seconds(13))
        #expect(widened.heartbeats == CountExpectation(min: 3, max: 6))
        // No start measured: nothing widened.
        #expect(SoakJudge.allowingModelStart(expect, modelStart: .zero, scale: 0.05, heartbeatInterval: .seconds(15)) == expect)
    }

    @Test func theRequestBodyNamesTheSoakModel() throws {
        let body = SoakClient.body(Array(#"{"model":"tiny-random-llama","stream":false}"#.utf8), model: "c1-s03")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["model"] as? String == "c1-s03")
        #expect(object["stream"] as? Bool == false)
    }

    // MARK: Real soaks through the built llama-proxy

    /// The package's executables, beside the test bundle (as the integration tests find them).
    static func executable(_ name: String) -> String {
        var candidate = Bundle.main.bundleURL
        for _ in 0..<4 {
            let path = candidate.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
            candidate = candidate.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path
    }

    static func session(
        clients: Int, duration: Duration, entries: [SoakLibrary.Entry],
        tamper: (@Sendable ([ReplayAttempt]) -> [ReplayAttempt])? = nil
    ) -> SoakSession {
        var session = SoakSession(
            clients: clients, duration: duration, seed: 7, scenarios: scenarios,
            proxyExecutable: executable("llama-proxy"), harnessExecutable: executable("harness"),
            progressInterval: .seconds(5), entries: entries, tamper: tamper)
        // Under ThreadSanitizer (TEST_TIMING_SCALE=5) the runs' time scales stretch, not their slack.
        session.timingScale = TimingSlack.factor
        return session
    }

    @Test func aShortSoakPassesWithFlatStats() async throws {
        // The whole mix but never-ready (15 s a request: the CI soak plays it).
        let entries = SoakLibrary.entries.filter { $0.file != "never-ready" }
        let lines = LinesBox()
        let outcome = await Self.session(clients: 4, duration: .seconds(6), entries: entries).run { lines.append($0) }
        #expect(outcome.exitCode == 0, "\(lines.text)")
        #expect(outcome.requests >= 4, "\(lines.text)")
        #expect(outcome.mismatches == 0, "\(lines.text)")
        #expect(outcome.faults > 0)
        #expect(outcome.flatness?.problems == [])
        #expect(lines.text.contains("soak: PASS"))
    }

    @Test func aPlantedWrongByteIsAMismatchAndExitsOne() async throws {
        // Runs that expect the client's body to equal the upstream's; the tamper flips one body byte of each.
        let entries = [
            SoakLibrary.Entry("close-after-stream", fault: nil),
            SoakLibrary.Entry("content-length-too-short", fault: "wrong length"),
        ]
        let lines = LinesBox()
        let outcome = await Self.session(clients: 2, duration: .seconds(3), entries: entries, tamper: Self.flipOneBodyByte)
            .run { lines.append($0) }
        #expect(outcome.mismatches > 0, "\(lines.text)")
        #expect(outcome.mismatches == outcome.requests, "every exchange was tampered with: \(lines.text)")
        #expect(outcome.exitCode == 1)
        #expect(lines.text.contains("FAIL bodyMatchesUpstream"), "\(lines.text)")
        #expect(lines.text.contains("soak: FAIL"))
    }

    /// Flips the last byte of the last read that carried body bytes (the reads' raw bytes too, for consistency).
    @Sendable static func flipOneBodyByte(_ attempts: [ReplayAttempt]) -> [ReplayAttempt] {
        var attempts = attempts
        guard var attempt = attempts.popLast() else { return attempts }
        if let index = attempt.reads.lastIndex(where: { !$0.body.isEmpty }) {
            attempt.reads[index].body[attempt.reads[index].body.count - 1] ^= 0x20
        }
        return attempts + [attempt]
    }
}

/// Lines printed by a soak, collected from its tasks.
final class LinesBox: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
    var text: String { lines.withLockedValue { $0.joined(separator: "\n") } }
}
