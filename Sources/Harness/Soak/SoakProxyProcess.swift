import DurationMath
import Foundation
import NIOCore
import NIOPosix
import Proxy

/// The real `llama-proxy` executable as a child of the soak, so that what is measured (its `/proc` entries) is the
/// proxy alone, as users run it, with its real supervisor starting and stopping `harness serve` children. Its output
/// goes to a log file, printed in part when something fails.
///
/// `@unchecked Sendable`: `Process` is not marked `Sendable`; after `run()` only its thread-safe accessors
/// (`isRunning`, `terminationStatus`, `terminationReason`) are used, and `pid`, `port`, `logPath` are constants.
final class SoakProxyProcess: @unchecked Sendable {
    let pid: Int32
    let port: Int
    let logPath: String
    private let process: Process

    private init(process: Process, port: Int, logPath: String) {
        self.process = process
        self.pid = process.processIdentifier
        self.port = port
        self.logPath = logPath
    }

    /// Starts `executable --config config --listen 127.0.0.1:port` and waits (at most 30 s) until it answers
    /// `GET /health`.
    static func start(executable: String, config: String, port: Int, logPath: String, http: SoakHTTP) async throws
        -> SoakProxyProcess
    {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else {
            throw SoakError("cannot write the proxy's log at \(logPath)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--config", config, "--listen", "127.0.0.1:\(port)"]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw SoakError("cannot start \(executable): \(error)")
        }
        let proxy = SoakProxyProcess(process: process, port: port, logPath: logPath)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw SoakError("llama-proxy exited with status \(process.terminationStatus) at start:\n" + proxy.logTail())
            }
            if let answer = try? await http.request("GET", "/health", port: port, limit: .seconds(2)),
                answer.status == 200
            {
                return proxy
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = await proxy.stop()
        throw SoakError("llama-proxy did not answer /health within 30 s:\n" + proxy.logTail())
    }

    /// Whether it still runs.
    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then SIGKILL if it has not exited 15 s later (its own shutdown grace is 10 s); returns a description
    /// of how it ended.
    func stop() async -> String {
        if process.isRunning {
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(15)
            while process.isRunning && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if process.isRunning {
                kill(pid, SIGKILL)
                while process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
                return "killed (SIGKILL) after not exiting 15 s after SIGTERM"
            }
        }
        return process.terminationReason == .exit
            ? "exited with status \(process.terminationStatus)" : "ended by signal \(process.terminationStatus)"
    }

    /// The last lines of its log.
    func logTail(_ count: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(count).map { "  | " + $0 }.joined(separator: "\n")
    }

    /// A port that was free a moment ago (the proxy's one port-check implementation).
    static func freePort() throws -> Int {
        guard let port = PortCheck.ephemeralPort() else { throw SoakError("cannot bind a port on 127.0.0.1") }
        return port
    }
}

/// Why a soak could not run (not a mismatch: the run did not happen), worded for the person who ran it.
public struct SoakError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
