import Foundation
import LocatedYAML
import Logging

/// Loads a llama-swap-compatible `config.yaml` into a `ProxyConfig`.
///
/// It walks the composed YAML tree (not `Decodable`) so that every value keeps its line and column: invalid values
/// are errors saying `file:line:column: what was expected, got what`, and keys this proxy does not know (llama-swap
/// features it lacks, typos) are warnings with their place — a llama-swap config must load, never crash.
public enum ConfigLoader {
    /// Loads the config at `path`.
    public static func load(
        contentsOf path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LocatedError) -> (ProxyConfig, [ConfigWarning]) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LocatedError(
                "cannot read the config file: \(error.localizedDescription)",
                at: SourceLocation(file: path, line: 1, column: 1), underlying: error
            )
        }
        return try load(yaml: text, file: path, environment: environment)
    }

    /// Loads config text; `file` is the name used in errors and warnings.
    /// - Parameter environment: the variables `${env.NAME}` may use (the process environment by default).
    public static func load(
        yaml: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LocatedError) -> (ProxyConfig, [ConfigWarning]) {
        var loader = ConfigLoading(file: file, environment: environment)
        let config = try loader.load(yaml)
        return (
            config,
            loader.warnings.sorted {
                ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
            }
        )
    }

    /// Top-level keys this proxy understands (everything else is warned about).
    public static let topLevelKeys: [String] = [
        "healthCheckTimeout", "logLevel", "startPort", "sendLoadingState", "globalTTL", "macros", "apiKeys",
        "models", "groups", "heartbeatInterval", "heartbeatComment", "responseHeaderTimeout", "streamIdleTimeout",
        "maxRequestBodySize", "maxHeaderCount", "maxHeaderBytes", "maxHeaderLineBytes", "clientIdleTimeout",
        "clientHeaderTimeout", "clientBodyTimeout", "routing", "matrix", "profiles", "selectors", "peers", "hooks",
        "upstream", "unloadTimeout", "includeAliasesInList", "logToStdout", "captureBuffer", "metricsMaxInMemory",
    ]
    /// Keys understood inside `models.<id>`.
    public static let modelKeys: [String] = [
        "cmd", "cmdStop", "proxy", "aliases", "env", "checkEndpoint", "ttl", "unlisted", "useModelName", "name",
        "description", "concurrencyLimit", "sendLoadingState", "macros", "heartbeatInterval", "heartbeatComment",
        "streamIdleTimeout", "timeouts", "filters", "metadata", "capabilities", "unloadTimeout",
    ]
    /// Keys understood inside `groups.<id>`.
    public static let groupKeys: [String] = ["swap", "exclusive", "persistent", "members"]
    /// Keys understood inside `models.<id>.timeouts`.
    public static let timeoutKeys: [String] = [
        "responseHeader", "streamIdle", "connect", "keepalive", "tlsHandshake", "idleConn",
    ]
    /// Keys understood in an alias written as a mapping (`{id: gpt-4, name: GPT four, unlisted: true}`).
    public static let aliasKeys: [String] = ["id", "name", "unlisted"]
}
