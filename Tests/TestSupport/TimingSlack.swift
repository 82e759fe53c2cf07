import Foundation

/// How much timing tolerances stretch in this run: 1 normally; larger where everything runs slower on purpose
/// (ci/tsan.sh sets `TEST_TIMING_SCALE=5`, because ThreadSanitizer slows the event loops several times). The
/// ThreadSanitizer run is there to find races; the plain run keeps the tight timing bounds.
public enum TimingSlack {
    public static let factor: Double = {
        guard let text = ProcessInfo.processInfo.environment["TEST_TIMING_SCALE"], let value = Double(text), value >= 1
        else { return 1 }
        return value
    }()

    /// Whether upper bounds on lateness are checked: only in the plain run. Under ThreadSanitizer everything is
    /// several times slower and the run is there for data races; tests still run every path, but skip the
    /// checks that only a slow machine can break ("arrived within X", "saved by a heartbeat at this scale").
    public static var strict: Bool { factor == 1 }

    /// `duration` stretched by ``factor``.
    public static func scaled(_ duration: Duration) -> Duration {
        duration * factor
    }
}
