import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for the first of some POSIX signals, so a server can shut down cleanly on SIGTERM (as a supervisor sends)
/// or SIGINT (Ctrl-C) instead of dying with its sockets open.
public enum SignalWaiter {
    /// Suspends until one of `signals` arrives and returns it. The default action of those signals is disabled
    /// from the first call on, so they are only delivered here.
    public static func wait(for signals: [Int32] = [SIGTERM, SIGINT]) async -> Int32 {
        let queue = DispatchQueue(label: "signal-waiter")
        let box = SourcesBox()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            queue.sync {
                for number in signals {
                    signal(number, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                    source.setEventHandler {
                        guard !box.resumed else { return }
                        box.resumed = true
                        for source in box.sources { source.cancel() }
                        continuation.resume(returning: number)
                    }
                    box.sources.append(source)
                    source.resume()
                }
            }
        }
    }

    /// The signal sources and whether the continuation was resumed.
    ///
    /// Safe to share as `@unchecked Sendable`: it is created before the sources and then only read and written on
    /// the serial `queue` (inside `queue.sync` and the sources' event handlers, which run on that queue).
    private final class SourcesBox: @unchecked Sendable {
        var sources: [any DispatchSourceSignal] = []
        var resumed = false
    }
}
