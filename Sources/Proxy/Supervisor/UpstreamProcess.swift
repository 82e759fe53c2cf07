import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One model's upstream server: starts its `cmd`, waits for its `checkEndpoint`, stops it, and notices when it dies.
///
/// States: stopped → starting → ready → stopping → stopped, or starting → failed (with the reason; the next start
/// tries again). A child that exits while ready makes the model stopped and calls `onUnexpectedExit`, so the next
/// request starts it again. External models (no `cmd`) have no process: they are ready once the health check
/// passes. The `Supervisor` decides when to start and stop; this type only does it, one transition at a time.
public actor UpstreamProcess: SupervisedUpstream {
    /// Where the upstream stands.
    public enum State: Sendable, Hashable, CustomStringConvertible {
        case stopped
        case starting
        case ready
        case stopping
        /// The last start failed; a new start may be tried.
        case failed(UpstreamFailure)

        /// The state's name as `/running` and logs show it.
        public var description: String {
            switch self {
            case .stopped: "stopped"
            case .starting: "starting"
            case .ready: "ready"
            case .stopping: "stopping"
            case .failed: "failed"
            }
        }
    }

    /// Timings of starts and stops, all injectable so tests run on short scales.
    public struct Timing: Sendable, Hashable {
        /// How long the start may take until the health check passes (`healthCheckTimeout`).
        public var healthCheckTimeout: Duration
        /// Pause between two health polls.
        public var pollInterval: Duration
        /// Limit for one health poll (connect, send, status line).
        public var pollTimeout: Duration
        /// Time between SIGTERM (or the stop command) and SIGKILL.
        public var stopGrace: Duration

        /// llama-swap's health timeout, a poll every 250 ms limited to 2 s, 5 s from SIGTERM to SIGKILL.
        public init(
            healthCheckTimeout: Duration = ProxyConfig.defaultHealthCheckTimeout,
            pollInterval: Duration = .milliseconds(250),
            pollTimeout: Duration = .seconds(2),
            stopGrace: Duration = .seconds(5)
        ) {
            self.healthCheckTimeout = healthCheckTimeout
            self.pollInterval = pollInterval
            self.pollTimeout = pollTimeout
            self.stopGrace = stopGrace
        }
    }

    /// The model this process serves.
    public nonisolated let config: ModelConfig
    private let timing: Timing
    private let logs: LogBuffer
    private let logger: Logger
    private let probe: HealthProbe
    private let killOnParentDeath: Bool
    /// Ports other models of the config were given: a model moving off a taken port does not take theirs.
    private let reservedPorts: Set<Int>
    private let onUnexpectedExit: @Sendable (Int) -> Void

    /// Where the upstream stands now.
    public private(set) var state: State = .stopped
    /// The config of the current run: `config`, or `config` moved to another port when its own was taken.
    private var current: ModelConfig
    private var child: ChildProcess?
    private var run = 0
    private var startTask: Task<Result<Int, UpstreamStartError>, Never>?
    private var stopTask: Task<Void, Never>?

    /// - Parameters:
    ///   - killOnParentDeath: start the command through `ParentDeathSignal` (Linux; see there).
    ///   - onUnexpectedExit: called with the run number when a ready child exits without being asked to.
    public init(
        config: ModelConfig,
        timing: Timing,
        logs: LogBuffer,
        logger: Logger,
        probe: HealthProbe = HealthProbe(),
        killOnParentDeath: Bool = true,
        reservedPorts: Set<Int> = [],
        onUnexpectedExit: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.config = config
        self.current = config
        self.timing = timing
        self.logs = logs
        self.logger = logger
        self.probe = probe
        self.killOnParentDeath = killOnParentDeath
        self.reservedPorts = reservedPorts
        self.onUnexpectedExit = onUnexpectedExit
    }

    /// Where the current run listens (see ``SupervisedUpstream/address``).
    public var address: UpstreamURL { current.upstream }

    /// The child's process id while one runs.
    public var processID: Int32? {
        guard let child, child.exit == nil else { return nil }
        return child.pid
    }

    /// Starts the upstream and returns once it is ready, with the run number (which `onUnexpectedExit` reports).
    /// A call while starting joins that start; a call while stopping waits for the stop, then starts.
    public func start(progress: @escaping @Sendable (String) -> Void) async throws(UpstreamStartError) -> Int {
        while true {
            switch state {
            case .ready:
                return run
            case .starting:
                if let startTask { return try await startTask.value.get() }
                state = .stopped  // unreachable: a start always has its task

            case .stopping:
                await stopTask?.value
            case .stopped, .failed:
                run += 1
                state = .starting
                let attempt = run
                let task = Task { await self.performStart(run: attempt, progress: progress) }
                startTask = task
                let result = await task.value
                if state == .starting && run == attempt {
                    switch result {
                    case .success: state = .ready
                    case .failure(let error): state = .failed(error.failure)
                    }
                }
                return try result.get()
            }
        }
    }

    /// Stops the upstream (a start in progress fails) and returns once its process has exited.
    public func stop() async {
        switch state {
        case .stopped, .failed:
            return
        case .stopping:
            await stopTask?.value
            return
        case .starting, .ready:
            state = .stopping
            let task = Task { await self.stopChild() }
            stopTask = task
            await task.value
            _ = await startTask?.value
            if state == .stopping { state = .stopped }
            stopTask = nil
        }
    }

    private func stopChild() async {
        guard let child, child.exit == nil else { return }
        logs.append("stopping (pid \(child.pid))", source: "proxy")
        logger.info("stopping model", metadata: ["model": "\(config.id)", "pid": "\(child.pid)"])
        var sentSignal = false
        if let stopCommand = current.stopCommand {
            let argv = stopCommand.map { $0.replacingOccurrences(of: "${PID}", with: "\(child.pid)") }
            let id = config.id
            let logs = logs
            do {
                _ = try await ChildProcess.launch(
                    argv: argv, environment: config.environment,
                    onLine: { _, line in logs.append(line, source: "\(id) cmdStop") },
                    onExit: { exit in
                        if exit != .exited(0) { logs.append("cmdStop ended with \(exit)", source: id) }
                    })
                sentSignal = true
            } catch {
                logs.append("cmdStop could not run (\(error)); sending SIGTERM", source: "proxy")
            }
        }
        if !sentSignal { child.signalGroup(SIGTERM) }
        let exit = await child.awaitExit(grace: timing.stopGrace)
        logger.info("model stopped", metadata: ["model": "\(config.id)", "exit": "\(exit)"])
    }

    private func performStart(run attempt: Int, progress: @escaping @Sendable (String) -> Void) async -> Result<
        Int, UpstreamStartError
    > {
        let id = config.id
        if config.command != nil {
            switch Self.claimPort(for: config, avoiding: reservedPorts) {
            case .free(let model):
                current = model
            case .moved(let model, let taken):
                current = model
                logs.append(
                    "port \(taken) of \(id) is in use by another process; starting \(id) on port \(model.upstream.port)",
                    source: "proxy")
                logger.warning(
                    "model port in use, moved", metadata: ["model": "\(id)", "taken": "\(taken)", "port": "\(model.upstream.port)"])
            case .refused(let detail):
                logs.append(detail, source: "proxy")
                return .failure(UpstreamStartError(.startFailed(model: id, detail: detail)))
            }
        }
        if let command = current.command {
            if let problem = Self.executableProblem(command.first ?? "") {
                return .failure(UpstreamStartError(.startFailed(model: id, detail: problem)))
            }
            progress("starting \(id)")
            let argv = killOnParentDeath ? ParentDeathSignal.wrap(command) : command
            logs.append("starting \(id): \(command.joined(separator: " "))", source: "proxy")
            logger.info("starting model", metadata: ["model": "\(id)", "command": "\(command)"])
            let logs = logs
            let logger = logger
            do {
                child = try await ChildProcess.launch(
                    argv: argv, environment: config.environment,
                    onLine: { stream, line in
                        logs.append(line, source: id)
                        logger.debug("\(line)", metadata: ["model": "\(id)", "stream": "\(stream.rawValue)"])
                    },
                    onExit: { exit in Task { await self.childExited(run: attempt, exit: exit) } })
            } catch {
                return .failure(
                    UpstreamStartError(
                        .startFailed(model: id, detail: "cannot run '\(command[0])': \(error)"), underlying: error))
            }
        }
        guard let checkEndpoint = config.checkEndpoint else { return .success(attempt) }
        let upstream = current.upstream

        if config.command == nil { progress("waiting for \(id) at \(upstream)") }
        let clock = ContinuousClock()
        let begin = clock.now
        let deadline = begin + timing.healthCheckTimeout
        var lastReport = begin
        while true {
            if state != .starting || run != attempt { return await abandonStart() }
            if let child, let exit = child.exit {
                _ = await child.terminate(grace: timing.stopGrace)  // helpers left in its process group
                return .failure(
                    UpstreamStartError(.startFailed(model: id, detail: Self.exitDetail(exit, child.recentErrorLines))))
            }
            let remaining = deadline - clock.now
            if remaining <= .zero {
                logs.append("\(id) not healthy after \(timing.healthCheckTimeout); stopping it", source: "proxy")
                if let child { _ = await child.terminate(grace: timing.stopGrace) }
                return .failure(UpstreamStartError(.healthCheckTimedOut(model: id, after: timing.healthCheckTimeout)))
            }
            // Each poll and each pause races the child's exit: a child that dies fails the start at once.
            let probe = self.probe
            let pollTimeout = min(timing.pollTimeout, remaining)
            guard
                let outcome = await Self.unlessExited(child, {
                    await probe.check(upstream, path: checkEndpoint, timeout: pollTimeout)
                })
            else { continue }
            if outcome == .healthy {
                // A 200 while our child is already gone came from someone else's server.
                if let child, child.exit != nil { continue }
                break
            }
            logger.debug("health check: \(outcome)", metadata: ["model": "\(id)"])
            if clock.now - lastReport >= .seconds(1) {
                lastReport = clock.now
                let waited = (clock.now - begin).components.seconds
                progress("waiting for \(id) to become ready (\(waited) s)")
            }
            let pause = min(timing.pollInterval, max(.zero, deadline - clock.now))
            _ = await Self.unlessExited(child) { try? await Task.sleep(for: pause) }
        }
        if state != .starting || run != attempt { return await abandonStart() }
        logs.append("\(id) is ready", source: "proxy")
        logger.info("model ready", metadata: ["model": "\(id)"])
        return .success(attempt)
    }

    /// A stop came while starting: the child may have been launched after the stop looked for it, so stop it here.
    private func abandonStart() async -> Result<Int, UpstreamStartError> {
        if let child { _ = await child.terminate(grace: timing.stopGrace) }
        return .failure(UpstreamStartError(.startFailed(model: config.id, detail: "stopped while starting")))
    }

    private func childExited(run attempt: Int, exit: ChildExit) {
        guard attempt == run else { return }
        logs.append("\(config.id) exited with \(exit)", source: "proxy")
        if state == .ready {
            logger.warning("model exited unexpectedly", metadata: ["model": "\(config.id)", "exit": "\(exit)"])
            state = .stopped
            onUnexpectedExit(attempt)
        }
    }

    /// `operation`'s result, or `nil` as soon as `child` exits (at once if it already has; `operation` is then
    /// cancelled). Without a child, just `operation`.
    private static func unlessExited<T: Sendable>(
        _ child: ChildProcess?, _ operation: @escaping @Sendable () async -> T
    ) async -> T? {
        guard let child else { return await operation() }
        if child.exit != nil { return nil }
        return await withTaskGroup(of: T?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                _ = await child.exitUnlessCancelled()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// What the port check decided for one start.
    enum PortClaim: Equatable {
        /// The configured port is free (or not this machine's to check).
        case free(ModelConfig)
        /// The configured port was taken: this `${PORT}` model starts on another one.
        case moved(ModelConfig, taken: Int)
        /// The port was taken and is fixed by `proxy:`; the start fails with this message.
        case refused(String)
    }

    /// Makes sure the port `model` will listen on is free before it starts, so that its health check can only
    /// reach its own server. A `${PORT}` model moves to the next free port (logged); a model whose `proxy:` fixes the
    /// port cannot move (its URL is the user's), so its start fails with a message that says so.
    /// `avoiding`: ports a move must not take (other models' `${PORT}`s).
    static func claimPort(
        for model: ModelConfig, avoiding: Set<Int> = [], isFree: (Int, String) -> Bool = PortCheck.isFree,
        nextFree: (Int, String, Set<Int>) -> Int? = { PortCheck.nextFree(after: $0, on: $1, avoiding: $2) }
    ) -> PortClaim {
        let port = model.upstream.port
        guard let address = PortCheck.localBindAddress(for: model.upstream.host), !isFree(port, address) else {
            return .free(model)
        }
        if model.portTemplate != nil {
            if let next = nextFree(port, address, avoiding.subtracting([port])), let moved = model.movingPort(to: next) {
                return .moved(moved, taken: port)
            }
            return .refused(
                "port \(port) of '\(model.id)' is in use by another process and no free port follows it; "
                    + "not starting '\(model.id)', whose health check would reach that process")
        }
        return .refused(
            "port \(port) of '\(model.id)' (its proxy: \(model.upstream)) is in use by another process; not starting "
                + "'\(model.id)', whose health check would reach that process instead of its own server: stop that "
                + "process or change proxy: (use ${PORT} to let the proxy pick a free port)")
    }

    static func exitDetail(_ exit: ChildExit, _ lines: [String]) -> String {
        let said = lines.isEmpty ? "" : "; last output: " + lines.joined(separator: " | ")
        return "the process ended with \(exit) before it became ready\(said)"
    }

    /// Why `program` cannot be run, or `nil` when it can (so the error names the command, not a wrapper).
    static func executableProblem(_ program: String) -> String? {
        if program.isEmpty { return "the command is empty" }
        let fileManager = FileManager.default
        if program.contains("/") {
            var isDirectory: ObjCBool = false
            if !fileManager.fileExists(atPath: program, isDirectory: &isDirectory) {
                return "cannot run '\(program)': no such file"
            }
            if isDirectory.boolValue { return "cannot run '\(program)': it is a directory" }
            if !fileManager.isExecutableFile(atPath: program) { return "cannot run '\(program)': not executable" }
            return nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            if fileManager.isExecutableFile(atPath: "\(directory)/\(program)") { return nil }
        }
        return "cannot run '\(program)': not found in PATH"
    }
}
