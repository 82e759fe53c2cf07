/// How a child process ended, worded for logs and start-failure messages.
public enum ChildExit: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this status code.
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)
    /// Its end could not be observed (the reason says why).
    case unknown(String)

    /// `exit status 3`, `signal 9 (SIGKILL)`: the words start failures and logs use.
    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "signal \(signal)\(Self.signalName(signal).map { " (\($0))" } ?? "")"
        case .unknown(let reason): "an unknown end (\(reason))"
        }
    }

    private static func signalName(_ signal: Int32) -> String? {
        switch signal {
        case 1: "SIGHUP"
        case 2: "SIGINT"
        case 6: "SIGABRT"
        case 9: "SIGKILL"
        case 11: "SIGSEGV"
        case 15: "SIGTERM"
        default: nil
        }
    }
}
