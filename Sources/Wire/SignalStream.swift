import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX signals as an async sequence, so servers shut down cleanly on SIGTERM (what a supervisor sends) or SIGINT
/// (Ctrl-C), and reload on SIGHUP, instead of dying with sockets open and children running.
public enum SignalStream {
    /// Every arrival of one of `signals`, in order. Their default actions are disabled from this call on, so they
    /// are only delivered here. The stream ends when the consumer stops iterating.
    public static func make(_ signals: [Int32]) -> AsyncStream<Int32> {
        let queue = DispatchQueue(label: "signal-stream")
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let box = SourcesBox()
        queue.sync {
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                box.sources.append(source)
            }
        }
        continuation.onTermination = { _ in
            queue.async { for source in box.sources { source.cancel() } }
        }
        return stream
    }

    /// The dispatch sources of one stream, kept alive until it ends.
    ///
    /// `@unchecked Sendable` is safe: `sources` is only read and written on the stream's serial `queue` (inside
    /// `queue.sync` while the stream is made, and in the `queue.async` block that cancels them).
    private final class SourcesBox: @unchecked Sendable {
        var sources: [any DispatchSourceSignal] = []
    }

    /// Waits for the first of `signals` (by default SIGTERM or SIGINT) and returns it.
    public static func first(of signals: [Int32] = [SIGTERM, SIGINT]) async -> Int32 {
        for await number in make(signals) { return number }
        return SIGTERM
    }
}
