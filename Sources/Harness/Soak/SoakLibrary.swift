import DurationMath
import FakeUpstream
import Foundation
import Proxy

/// One kind of request the soak sends: a run of a scenario file (its upstream script, proxy settings, request,
/// client profile and `expect:`), at a time scale, either judged whole or cut short by the client.
public struct SoakCase: Sendable {
    /// How the client treats the exchange.
    public enum Kind: String, Sendable, Hashable {
        /// The client plays the scenario's profile; the exchange is judged by the run's `expect:` in full.
        case judged
        /// The client hangs up at a seeded moment inside the response (`SoakJudge` says what is checked then).
        case disconnect
    }

    /// `rst-mid-stream` or `split-event-stall/heartbeat`, with ` (disconnect)` for disconnect cases.
    public var label: String
    /// The fault it plays (`reset`, `stall inside an event`, …), or `nil` for a healthy exchange.
    public var fault: String?
    /// The scenario with this run's spec (no further `runs`), as `ReplayRuns.expand` gives it.
    public var scenario: Scenario
    /// The run's name among the file's `runs:`, `nil` for the top-level run.
    public var runName: String?
    /// Real seconds per scenario second, for the fake, the proxy settings, the profile and the expectations.
    public var timeScale: Double
    /// Judged whole, or cut short by the client.
    public var kind: Kind
}

/// The soak's fixed mix of scenario runs, chosen from `Scenarios/` so that every fault the issue names is played
/// while the whole mix stays short enough for many requests per minute:
///
/// | fault | runs |
/// |---|---|
/// | reset | `rst-mid-stream` (heartbeat on and off) |
/// | stall inside an event | `split-event-stall/heartbeat`, `split-before-blank-line/heartbeat`, `utf8-split-codepoint/heartbeat` |
/// | stall between events | `mid-stream-stall` |
/// | wrong length | `content-length-too-short`, `content-length-too-long` |
/// | never ready | `never-ready` (the load fails at the health-check timeout) |
/// | slow load | `slow-model-load` (heartbeat on and off), `health-flapping` |
/// | never answers | `hang-forever/heartbeat-and-header-timeout` (the proxy's header timeout ends it) |
/// | close mid-response | `close-after-headers` |
/// | errors | `error-500-after-30s/heartbeat`, `error-event-mid-stream`, `rate-limited-429` |
/// | client disconnect | `mid-stream-stall`, `split-event-stall/heartbeat`, `slow-model-load`, `hang-forever/heartbeat-and-header-timeout`, the client hanging up at a seeded moment |
/// | crash | any judged run: the model's process is killed (SIGKILL) while idle, and the run is sent again |
///
/// plus two healthy exchanges (`close-after-stream`, `fast-10000-tokens`: 10,000 events through the relay).
///
/// Left out: the minutes-long files (`slow-prefill-11min`, `llama-server-old-prefill`, `llama-server-pings`: seven
/// to eleven minutes of scenario time each, whose heartbeat runs take 10–35 s even scaled), `gated-prefill` (its
/// gates are opened by the in-process runner; a `harness serve` child would need them released over HTTP at the
/// right moment), runs whose expectations need the fake's clock origin (`upstreamSawCloseWithin`: the journal of a
/// child process gives times since *its* start, which this process cannot place on its own clock; the disconnect
/// cases check the same thing by polling the journal instead), and `recorded/` (byte-for-byte replays with no
/// fault; `swift test` replays them).
///
/// Time scale: twice each run's own automatic scale (`ReplayTimeScale.automatic` over that run alone, not the whole
/// file: the soak mixes runs, and a file's slowest run should not slow its fast ones), so that the shortest timing
/// bound of a run takes 1.6 s of real time instead of 0.8 s. Timing checks get `slack` (1 s) of real time, capped,
/// as in replay, at a quarter of the bound it widens: 400 ms for the 1.6 s heartbeat bounds, the full second only
/// for bounds of 4 s and more (stalls of 5–10 s, a 6.4 s header timeout, never-ready's 15 s). Why more than
/// replay's 0.8 s and 200 ms: 8 clients, 8 fakes and the proxy share 2 cores; the first 60 s soaks at replay's
/// scale saw a relay 470 ms late and a heartbeat 80 ms past its 200 ms slack, and a 30-minute soak at 400 ms
/// slack a header timeout 50 ms past it, on a machine at load average 5. Runs without a timing bound stay at 0.01.
/// Two exceptions:
/// - where the proxy's health-check timeout is part of the run: the real `llama-proxy` refuses a
///   `healthCheckTimeout` under 15 s (llama-swap's minimum), so such a run is scaled so that its
///   `healthCheckTimeout` is exactly that minimum (`never-ready`: 30 s at 0.5, so a never-ready request takes 15 s);
/// - `health-flapping` runs at 0.1: at 0.01 its flap period (200 ms up, 50 ms down) equals the supervisor's 250 ms
///   health poll, and a poll that lands in the 503 window keeps landing there for seconds (seen in the first
///   soaks: a 3 s head timeout while the model "loaded").
public enum SoakLibrary {
    /// One entry of the mix: file stem, run name, fault, kind.
    public struct Entry: Sendable, Hashable {
        public var file: String
        public var run: String?
        public var fault: String?
        public var kind: SoakCase.Kind
        /// A fixed scale instead of the rule (see the type's documentation).
        public var scale: Double?

        public init(
            _ file: String, _ run: String? = nil, fault: String?, kind: SoakCase.Kind = .judged, scale: Double? = nil
        ) {
            self.file = file
            self.run = run
            self.fault = fault
            self.kind = kind
            self.scale = scale
        }
    }

    /// The mix (see the type's documentation for why each is in it).
    public static let entries: [Entry] = [
        Entry("rst-mid-stream", fault: "reset"),
        Entry("rst-mid-stream", "heartbeat-off", fault: "reset"),
        Entry("split-event-stall", "heartbeat", fault: "stall inside an event"),
        Entry("split-before-blank-line", "heartbeat", fault: "stall inside an event"),
        Entry("utf8-split-codepoint", "heartbeat", fault: "stall inside an event"),
        Entry("mid-stream-stall", fault: "stall between events"),
        Entry("content-length-too-short", fault: "wrong length"),
        Entry("content-length-too-long", fault: "wrong length"),
        Entry("never-ready", fault: "never ready"),
        Entry("slow-model-load", fault: "slow load"),
        Entry("slow-model-load", "heartbeat-off", fault: "slow load"),
        Entry("health-flapping", fault: "slow load", scale: 0.1),
        Entry("hang-forever", "heartbeat-and-header-timeout", fault: "never answers"),
        Entry("close-after-headers", fault: "close mid-response"),
        Entry("error-500-after-30s", "heartbeat", fault: "error"),
        Entry("error-event-mid-stream", fault: "error"),
        Entry("rate-limited-429", fault: "error"),
        Entry("close-after-stream", fault: nil),
        Entry("fast-10000-tokens", fault: nil),
        Entry("mid-stream-stall", fault: "client disconnect", kind: .disconnect),
        Entry("split-event-stall", "heartbeat", fault: "client disconnect", kind: .disconnect),
        Entry("slow-model-load", fault: "client disconnect", kind: .disconnect),
        Entry("hang-forever", "heartbeat-and-header-timeout", fault: "client disconnect", kind: .disconnect),
    ]

    /// Why a case could not be built.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The cases of `entries` read from `directory` (the repository's `Scenarios/`).
    public static func cases(directory: String, entries: [Entry] = SoakLibrary.entries) throws -> [SoakCase] {
        var parsed: [String: Scenario] = [:]
        var cases: [SoakCase] = []
        for entry in entries {
            let scenario: Scenario
            if let known = parsed[entry.file] {
                scenario = known
            } else {
                let path = (directory as NSString).appendingPathComponent(entry.file + ".yaml")
                do {
                    scenario = try ScenarioParser.parse(yaml: try ScenarioLoader.read(path), file: path)
                } catch {
                    throw Failure(description: "\(path): \(error)")
                }
                parsed[entry.file] = scenario
            }
            guard let run = ReplayRuns.expand(scenario).first(where: { $0.name == entry.run }) else {
                throw Failure(description: "\(entry.file): no run named \(entry.run ?? "(top level)")")
            }
            let label = run.label + (entry.kind == .disconnect ? " (disconnect)" : "")
            cases.append(
                SoakCase(
                    label: label, fault: entry.fault, scenario: run.scenario, runName: run.name,
                    timeScale: entry.scale ?? timeScale(for: run.scenario), kind: entry.kind))
        }
        return cases
    }

    /// Real time added to the soak's timing checks, at most a quarter of each scaled bound (the replay's rule).
    public static let slack: Duration = .seconds(1)

    /// How much slower than `harness replay` a run with timing bounds is played (see the type's documentation).
    public static let slowdown = 2.0

    /// The run's scale: its automatic one, `slowdown` times slower when it has timing bounds, raised where needed
    /// so that its `healthCheckTimeout` scales to the proxy's minimum (see the type's documentation).
    public static func timeScale(for run: Scenario) -> Double {
        var automatic = ReplayTimeScale.automatic(for: run)
        if !ReplayTimeScale.timingBounds(of: run).isEmpty {
            automatic = min(ReplayTimeScale.slowest, automatic * slowdown)
        }
        guard let health = run.spec?.proxy?.healthCheckTimeout, health > .zero else { return automatic }
        return max(automatic, ProxyConfig.minimumHealthCheckTimeout / health)
    }
}
