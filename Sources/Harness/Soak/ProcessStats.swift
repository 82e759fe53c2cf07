import Foundation

/// A process's open file descriptors, resident memory and threads, read from `/proc` (Linux). The soak reads the
/// proxy's, from outside, so the measurement includes nothing of the harness itself.
public struct ProcessStats: Sendable, Hashable {
    /// Entries of `/proc/PID/fd`, but a sanitizer's own (``OpenDescriptors/sanitizerHelpers``).
    public var fileDescriptors: Int
    /// `VmRSS` of `/proc/PID/status`, in KiB.
    public var residentKiB: Int
    /// `Threads` of `/proc/PID/status`.
    public var threads: Int
    /// What each descriptor is, sorted (``OpenDescriptors``): so a growth names what grew (a TCP connection and its
    /// ports and state, a pipe, an eventfd), not only how many.
    public var descriptors: [String]

    public init(fileDescriptors: Int, residentKiB: Int, threads: Int, descriptors: [String] = []) {
        self.fileDescriptors = fileDescriptors
        self.residentKiB = residentKiB
        self.threads = threads
        self.descriptors = descriptors
    }

    /// Reads the stats of `pid`; `nil` when `/proc` has no such process (or no `/proc`: not Linux).
    public static func read(pid: Int32) -> ProcessStats? {
        guard let status = OpenDescriptors.procText("/proc/\(pid)/status"),
            let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        else { return nil }
        let descriptors = OpenDescriptors.describe(pid: pid, fds: fds)
        var stats = parse(status: status, fileDescriptors: programs(fds.count, descriptors: descriptors))
        stats?.descriptors = descriptors
        return stats
    }

    /// The program's descriptors out of `total`: all but a sanitizer's (``OpenDescriptors/isSanitizers(_:)``).
    static func programs(_ total: Int, descriptors: [String]) -> Int {
        total - descriptors.filter(OpenDescriptors.isSanitizers).count
    }

    /// The stats from the text of `/proc/PID/status` and a descriptor count; `nil` if a field is missing.
    public static func parse(status: String, fileDescriptors: Int) -> ProcessStats? {
        var rss: Int?
        var threads: Int?
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
            guard parts.count >= 2 else { continue }
            switch parts[0] {
            case "VmRSS": rss = Int(parts[1])
            case "Threads": threads = Int(parts[1])
            default: break
            }
        }
        guard let rss, let threads else { return nil }
        return ProcessStats(fileDescriptors: fileDescriptors, residentKiB: rss, threads: threads)
    }

    /// `fds 23, RSS 31.2 MiB, threads 9`.
    public var line: String {
        "fds \(fileDescriptors), RSS \(Self.mebibytes(residentKiB)), threads \(threads)"
    }

    /// `31.2 MiB`.
    public static func mebibytes(_ kibibytes: Int) -> String {
        String(format: "%.1f MiB", Double(kibibytes) / 1024)
    }
}

/// Whether the proxy's resources came back to where they were: both samples are taken in the same quiet state
/// (every client finished, every model unloaded, the proxy idle), the first after a warm-up, the second at the end.
///
/// The bounds, and why:
/// - file descriptors: at most the start's. Each request opens a client connection, an upstream connection, a
///   child's pipes; in the quiet state none of them may be left, so one leaked descriptor is a failure.
/// - threads: at most the start's. The proxy's event loops and the process monitor are made at start-up or
///   during the warm-up; a thread per request or per child that is never joined shows up here.
/// - resident memory: at most `residentGrowthLimitKiB` above the start. Memory is not returned to the system
///   exactly (malloc keeps freed pages for reuse), so equality would fail without a leak; but the growth allowed is
///   fixed, not proportional to the run: a leak of 1 KiB per request is 16 MiB after 16,000 requests (a 30-minute
///   run makes more than that), and a leaked response buffer (tens of KiB) crosses it within the 60 s run.
public struct SoakFlatness: Sendable, Hashable {
    /// Resident growth allowed from start to end.
    public static let residentGrowthLimitKiB = 16 * 1024

    public var start: ProcessStats
    public var end: ProcessStats
    public var residentGrowthLimitKiB: Int

    public init(start: ProcessStats, end: ProcessStats, residentGrowthLimitKiB: Int = SoakFlatness.residentGrowthLimitKiB) {
        self.start = start
        self.end = end
        self.residentGrowthLimitKiB = residentGrowthLimitKiB
    }

    /// What is not flat, one phrase each; empty when flat.
    public var problems: [String] {
        var problems: [String] = []
        if end.fileDescriptors > start.fileDescriptors {
            let new = OpenDescriptors.added(from: start.descriptors, to: end.descriptors)
                .filter { !OpenDescriptors.isSanitizers($0) }
            problems.append(
                "fds grew from \(start.fileDescriptors) to \(end.fileDescriptors)"
                    + (new.isEmpty ? "" : " (new: \(new.joined(separator: "; ")))"))
        }
        if end.threads > start.threads {
            problems.append("threads grew from \(start.threads) to \(end.threads)")
        }
        let growth = end.residentKiB - start.residentKiB
        if growth > residentGrowthLimitKiB {
            problems.append(
                "RSS grew by \(ProcessStats.mebibytes(growth)), over the bound of "
                    + ProcessStats.mebibytes(residentGrowthLimitKiB))
        }
        return problems
    }

    /// `fds 21 → 21, RSS 30.1 MiB → 31.0 MiB (+0.9 MiB, bound +16.0 MiB), threads 8 → 8`.
    public var line: String {
        let growth = end.residentKiB - start.residentKiB
        return "fds \(start.fileDescriptors) → \(end.fileDescriptors), RSS \(ProcessStats.mebibytes(start.residentKiB))"
            + " → \(ProcessStats.mebibytes(end.residentKiB)) (\(growth >= 0 ? "+" : "-")"
            + "\(ProcessStats.mebibytes(abs(growth))), bound +\(ProcessStats.mebibytes(residentGrowthLimitKiB))), "
            + "threads \(start.threads) → \(end.threads)"
    }
}
