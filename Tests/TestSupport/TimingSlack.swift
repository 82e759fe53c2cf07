import Foundation

/// How much real-time bounds stretch in this run: 1 normally; larger where everything runs slower on purpose
/// (ci/tsan.sh sets `TEST_TIMING_SCALE=5`, because ThreadSanitizer slows the event loops several times).
///
/// The rule for timing in tests: an exact timing claim belongs in a deterministic test (a pure planner or policy
/// driven with explicit times, or an executor on a test event loop whose clock the test advances). A test on real
/// sockets keeps only bounds that a loaded 2-core machine running the suites in parallel cannot break yet a bug can:
/// lower bounds ("not before"), order, separate reads held apart by gates, and upper bounds generous enough for
/// load, multiplied by ``factor``, with a comment saying what they bound and why the number.
public enum TimingSlack {
    public static let factor: Double = {
        guard let text = ProcessInfo.processInfo.environment["TEST_TIMING_SCALE"], let value = Double(text), value >= 1
        else { return 1 }
        return value
    }()

    /// Whether this is the plain run (factor 1). Skipping a check under ThreadSanitizer with it is allowed only
    /// when a deterministic test covers the same claim, named in a comment next to the skip.
    public static var strict: Bool { factor == 1 }

    /// `duration` stretched by ``factor``.
    public static func scaled(_ duration: Duration) -> Duration {
        duration * factor
    }
}
