import NIOConcurrencyHelpers
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One started child process in its own session (so its process group is its pid): its output as lines, its exit,
/// and signals to the whole group, so `llama-server`'s helpers and a `sh -c` wrapper's children stop with it.
///
/// Stopping is always explicit (`terminate(grace:)`), never by cancelling a task: swift-subprocess closes the pipes
/// first on cancellation, and the child then dies of SIGPIPE instead of shutting down cleanly.
final class ChildProcess: Sendable {
    /// Which output a line came from.
    enum Stream: String, Sendable {
        case stdout
        case stderr
    }

    /// Why the child could not be started at all.
    struct LaunchError: Error, Sendable, CustomStringConvertible {
        var description: String
        /// What Subprocess threw, when it threw.
        var underlying: (any Error)? = nil
    }

    /// The child's process id (and process group id).
    let pid: Int32
    private let exitTask: Task<ChildExit, Never>
    private let exitSignal: ChildExitSignal
    private let tail: NIOLockedValueBox<[String]>

    /// How many of the last stderr lines are kept for a start-failure message.
    static let tailLength = 5

    private init(
        pid: Int32, exitTask: Task<ChildExit, Never>, exitSignal: ChildExitSignal,
        tail: NIOLockedValueBox<[String]>
    ) {
        self.pid = pid
        self.exitTask = exitTask
        self.exitSignal = exitSignal
        self.tail = tail
    }

    /// Starts `argv` (no shell) with `environment` added to this process's, stdin closed, in a new session.
    /// Returns once the process exists; every output line goes to `onLine`, and `onExit` is called once it has ended
    /// and been reaped.
    static func launch(
        argv: [String],
        environment: [String: String],
        onLine: @escaping @Sendable (Stream, String) -> Void,
        onExit: @escaping @Sendable (ChildExit) -> Void
    ) async throws(LaunchError) -> ChildProcess {
        guard let program = argv.first, !program.isEmpty else {
            throw LaunchError(description: "the command is empty")
        }
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        var overrides: [Environment.Key: String?] = [:]
        for (name, value) in environment {
            guard let key = Environment.Key(rawValue: name) else {
                throw LaunchError(description: "'\(name)' is not a valid environment variable name")
            }
            overrides[key] = value
        }
        var options = PlatformOptions()
        options.createSession = true
        // Only reached if the task running the child is cancelled, which the supervisor never does.
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(5))]

        let exitSignal = ChildExitSignal()
        let tail = NIOLockedValueBox<[String]>([])
        let (started, startedContinuation) = AsyncStream.makeStream(
            of: Result<Int32, LaunchError>.self, bufferingPolicy: .bufferingOldest(1))
        let collect: @Sendable (Stream, String) -> Void = { stream, line in
            if stream == .stderr {
                tail.withLockedValue { lines in
                    lines.append(line)
                    if lines.count > tailLength { lines.removeFirst(lines.count - tailLength) }
                }
            }
            onLine(stream, line)
        }

        let exitTask = Task<ChildExit, Never> {
            let exit: ChildExit
            do {
                let result = try await Subprocess.run(
                    executable,
                    arguments: Arguments(Array(argv.dropFirst())),
                    environment: .inherit.updating(overrides),
                    platformOptions: options,
                    input: .none,
                    output: .sequence,
                    error: .sequence
                ) { execution in
                    startedContinuation.yield(.success(execution.processIdentifier.value))
                    startedContinuation.finish()
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await pump(execution.standardOutput, .stdout, collect) }
                        group.addTask { await pump(execution.standardError, .stderr, collect) }
                    }
                }
                switch result.terminationStatus {
                case .exited(let code): exit = .exited(code)
                case .signaled(let signal): exit = .signaled(signal)
                }
            } catch {
                // Before the body ran this is a launch failure (the stream takes only the first value).
                startedContinuation.yield(.failure(LaunchError(description: describe(error), underlying: error)))
                startedContinuation.finish()
                exit = .unknown(describe(error))
            }
            exitSignal.set(exit)
            onExit(exit)
            return exit
        }

        for await outcome in started {
            switch outcome {
            case .success(let pid):
                return ChildProcess(pid: pid, exitTask: exitTask, exitSignal: exitSignal, tail: tail)
            case .failure(let error):
                throw error
            }
        }
        throw LaunchError(description: "the process did not start")
    }

    /// The exit, once the child has ended and been reaped; `nil` while it runs.
    var exit: ChildExit? { exitSignal.exit }

    /// The exit once the child has ended and been reaped, or `nil` as soon as the calling task is cancelled.
    func exitUnlessCancelled() async -> ChildExit? { await exitSignal.wait() }

    /// Waits until the child has ended and been reaped.
    func waitForExit() async -> ChildExit { await exitTask.value }

    /// The last lines the child wrote to stderr (at most `tailLength`).
    var recentErrorLines: [String] { tail.withLockedValue { $0 } }

    /// Sends `signal` to the child's process group (falling back to the child alone if the group is gone).
    /// Does nothing once the child has been reaped, so a recycled pid is never signalled.
    func signalGroup(_ signal: Int32) {
        guard exit == nil else { return }
        if kill(-pid, signal) != 0 { _ = kill(pid, signal) }
    }

    /// Waits up to `grace` for the child to exit, then SIGKILLs its group and waits for the end. Sends nothing
    /// itself first: callers send SIGTERM or run a stop command before.
    func awaitExit(grace: Duration) async -> ChildExit {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await self.exitTask.value }
            group.addTask {
                do {
                    try await Task.sleep(for: grace)
                    self.signalGroup(SIGKILL)
                } catch {}
            }
            await group.next()
            group.cancelAll()
        }
        let exit = await exitTask.value
        // Helpers that left the group leader behind (a shell's children) must not outlive it.
        _ = kill(-pid, SIGKILL)
        return exit
    }

    /// SIGTERM to the group, SIGKILL after `grace`; returns how the child ended.
    func terminate(grace: Duration) async -> ChildExit {
        signalGroup(SIGTERM)
        return await awaitExit(grace: grace)
    }
}

private func pump(
    _ output: SubprocessOutputSequence, _ stream: ChildProcess.Stream,
    _ onLine: @Sendable (ChildProcess.Stream, String) -> Void
) async {
    var splitter = LineSplitter()
    do {
        for try await buffer in output {
            let lines = buffer.withUnsafeBytes { splitter.feed($0) }
            for line in lines { onLine(stream, line) }
        }
    } catch {
        onLine(stream, "(reading \(stream.rawValue) failed: \(describe(error)))")
    }
    if let last = splitter.finish() { onLine(stream, last) }
}

private func describe(_ error: any Error) -> String {
    if let error = error as? SubprocessError { return error.description }
    return String(describing: error)
}
