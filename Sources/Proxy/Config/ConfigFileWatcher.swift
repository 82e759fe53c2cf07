import Foundation
import Logging
import ServiceLifecycle

/// What a poll sees of the config file: its modification time and size (`nil` when it cannot be read).
public struct ConfigFileStamp: Sendable, Hashable {
    public var modified: Double?
    public var size: Int64?

    public init(modified: Double?, size: Int64?) {
        self.modified = modified
        self.size = size
    }

    /// The file at `path` as it is now.
    public static func of(path: String) -> ConfigFileStamp {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return ConfigFileStamp(modified: nil, size: nil)
        }
        return ConfigFileStamp(
            modified: (attributes[.modificationDate] as? Date)?.timeIntervalSince1970,
            size: (attributes[.size] as? NSNumber)?.int64Value)
    }
}

/// Decides, poll by poll, when a changed config file should be reloaded: once a changed stamp has been seen twice
/// in a row (so a file an editor is still writing is not loaded half-written), and once per change.
public struct ConfigFileWatcher: Sendable {
    /// The stamp of the file as last loaded (the first poll's, at start).
    private var loaded: ConfigFileStamp?
    /// A changed stamp seen once, waiting to be seen again.
    private var pending: ConfigFileStamp?

    public init() {}

    /// Records one poll; true when the config should be reloaded now. A missing file is never loaded (the running
    /// config stays); when it comes back changed it is.
    public mutating func observe(_ stamp: ConfigFileStamp) -> Bool {
        guard let loaded else {
            self.loaded = stamp
            return false
        }
        if stamp == loaded {
            pending = nil
            return false
        }
        if stamp == pending, stamp.size != nil {
            self.loaded = stamp
            pending = nil
            return true
        }
        pending = stamp
        return false
    }
}

/// `--watch-config`: polls the config file every `interval` and, when it changed, calls `reload` (the same path as
/// SIGHUP: ``ConfigReloadService/reload()``). Ends on graceful shutdown.
public struct ConfigWatchService<C: Clock>: Service where C.Duration == Duration {
    let interval: Duration
    let clock: C
    let stamp: @Sendable () -> ConfigFileStamp
    let reload: @Sendable () async -> Void

    public init(
        interval: Duration = .seconds(1), clock: C, stamp: @escaping @Sendable () -> ConfigFileStamp,
        reload: @escaping @Sendable () async -> Void
    ) {
        self.interval = interval
        self.clock = clock
        self.stamp = stamp
        self.reload = reload
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var watcher = ConfigFileWatcher()
            _ = watcher.observe(stamp())
            while !Task.isCancelled {
                try await clock.sleep(for: interval)
                if watcher.observe(stamp()) { await reload() }
            }
        }
    }
}

extension ConfigWatchService where C == ContinuousClock {
    /// Watches the file at `path` on the real clock.
    public init(path: String, interval: Duration = .seconds(1), reload: @escaping @Sendable () async -> Void) {
        self.init(
            interval: interval, clock: ContinuousClock(), stamp: { ConfigFileStamp.of(path: path) }, reload: reload)
    }
}
