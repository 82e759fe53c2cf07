import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raises the process's soft limit on open files (`RLIMIT_NOFILE`) to its hard limit at start, as Go does for
/// llama-swap: every waiting stream holds two sockets in the proxy (the client's and the upstream's), and a soft
/// limit of 1,024 (a common default) would refuse connections at about 500 waiting streams.
///
/// Model processes the proxy starts inherit the raised limit.
public enum OpenFileLimit {
    /// What the start did.
    public enum Outcome: Sendable, Hashable {
        /// The soft limit was raised.
        case raised(from: UInt64, to: UInt64)
        /// The soft limit already was as high as allowed.
        case unchanged(UInt64)
        /// `getrlimit` or `setrlimit` failed (errno); the limit stays `soft`.
        case failed(soft: UInt64, errno: Int32)
    }

    /// The soft limit to ask for, or `nil` when `soft` is already there. An unlimited hard limit is not a number the
    /// kernel takes for open files: the ceiling is then `ceiling` (Linux: `/proc/sys/fs/nr_open`; macOS:
    /// `OPEN_MAX`).
    public static func target(soft: UInt64, hard: UInt64, unlimited: UInt64, ceiling: UInt64) -> UInt64? {
        let wanted = hard == unlimited ? ceiling : hard
        return wanted > soft ? wanted : nil
    }

    /// Raises the soft limit to the hard limit; logs the limit in force.
    @discardableResult
    public static func raiseToHardLimit(logger: Logger) -> Outcome {
        let outcome = raiseToHardLimit()
        switch outcome {
        case .raised(let from, let to):
            logger.info("open files limit raised", metadata: ["from": "\(from)", "to": "\(to)"])
        case .unchanged(let soft):
            logger.info("open files limit", metadata: ["limit": "\(soft)"])
        case .failed(let soft, let code):
            logger.warning(
                "could not raise the open files limit",
                metadata: ["limit": "\(soft)", "error": "\(String(cString: strerror(code)))"])
        }
        return outcome
    }

    /// Raises the soft limit to the hard limit.
    public static func raiseToHardLimit() -> Outcome {
        var limits = rlimit()
        guard getrlimit(resourceNoFile, &limits) == 0 else { return .failed(soft: 0, errno: errno) }
        let soft = UInt64(limits.rlim_cur)
        guard
            let wanted = target(
                soft: soft, hard: UInt64(limits.rlim_max), unlimited: unlimited, ceiling: ceiling())
        else { return .unchanged(soft) }
        limits.rlim_cur = rlim_t(wanted)
        guard setrlimit(resourceNoFile, &limits) == 0 else { return .failed(soft: soft, errno: errno) }
        return .raised(from: soft, to: wanted)
    }

    /// The current soft and hard limits (tests).
    static func current() -> (soft: UInt64, hard: UInt64) {
        var limits = rlimit()
        _ = getrlimit(resourceNoFile, &limits)
        return (UInt64(limits.rlim_cur), UInt64(limits.rlim_max))
    }

    /// Sets the soft limit (tests).
    static func setSoft(_ soft: UInt64) -> Bool {
        var limits = rlimit()
        guard getrlimit(resourceNoFile, &limits) == 0 else { return false }
        limits.rlim_cur = rlim_t(soft)
        return setrlimit(resourceNoFile, &limits) == 0
    }

    #if canImport(Glibc)
        private static var resourceNoFile: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
        /// `RLIM_INFINITY` (all bits set; the macro does not import).
        private static var unlimited: UInt64 { UInt64(rlim_t.max) }
    #else
        private static var resourceNoFile: Int32 { RLIMIT_NOFILE }
        private static var unlimited: UInt64 { UInt64(RLIM_INFINITY) }
    #endif

    /// The most open files a process may ask for when the hard limit is unlimited.
    private static func ceiling() -> UInt64 {
        #if os(Linux)
            if let text = try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8),
                let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return value
            }
            return 1_048_576
        #else
            return UInt64(OPEN_MAX)
        #endif
    }
}
