import FakeUpstream
import Logging

/// How to run a scenario: time scale, topology, and overrides of what the file says.
public struct ReplayOptions: Sendable {
    /// Multiplies every duration: the script's, the profile's, the proxy's, and the expectations'.
    public var timeScale: Double
    /// Direct to the fake, or through the proxy.
    public var topology: ReplayTopology
    /// Replaces the scenario's profile (unscaled).
    public var profile: ClientProfile?
    /// Replaces the scenario's `proxy:` settings (unscaled), e.g. heartbeat off for `--compare`.
    public var proxySettings: ProxySettingsSpec?
    /// Real time added to every timing tolerance.
    public var slack: Duration
    /// The longest the whole run is watched (real time) when nothing ends it first; `nil` means `RunBound`'s
    /// estimate for the scenario, scaled.
    public var observationLimit: Duration?
    /// The real time `RunBound` adds to its scaled estimate (work that does not scale with the run); a test run
    /// under ThreadSanitizer, where that work takes several times longer, passes a larger one.
    public var realMargin: Duration = RunBound.realMargin
    /// Where the fake and the runner log; silent by default.
    public var logger: Logger
    /// The name of the run among the file's `runs:`, shown after the file's name; `nil` for the top-level run.
    public var runName: String?

    /// Options; by default real time, direct, the scenario's own profile and settings, 200 ms slack.
    public init(
        timeScale: Double = 1, topology: ReplayTopology = .direct, profile: ClientProfile? = nil,
        proxySettings: ProxySettingsSpec? = nil, slack: Duration = ReplayOptions.defaultSlack,
        observationLimit: Duration? = nil, logger: Logger = ReplayOptions.silentLogger, runName: String? = nil
    ) {
        self.runName = runName
        self.timeScale = timeScale
        self.topology = topology
        self.profile = profile
        self.proxySettings = proxySettings
        self.slack = slack
        self.observationLimit = observationLimit
        self.logger = logger
    }

    /// Real time added to timing checks by default, at most a quarter of each bound (see `ExpectationEvaluator`).
    public static let defaultSlack: Duration = .milliseconds(200)

    /// A logger that drops everything, so a replay prints only its verdicts.
    public static let silentLogger = Logger(label: "replay", factory: { _ in SwiftLogNoOpLogHandler() })
}
