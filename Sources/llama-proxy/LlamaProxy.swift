import ArgumentParser
import Foundation
import Logging
import Proxy

/// `llama-proxy`: a llama-swap-compatible proxy that keeps slow streaming clients alive with SSE heartbeats.
@main
struct LlamaProxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llama-proxy",
        abstract: "A llama-swap-compatible proxy for llama-server with SSE heartbeats for slow streams.",
        discussion: """
            Starts models on demand from a llama-swap-style config.yaml, swaps them by group, and sends SSE comment \
            heartbeats to streaming clients while a model loads or processes a long prompt (heartbeatInterval).

            Signals: SIGTERM or SIGINT stop gracefully: /logs/stream responses end at once, requests in flight get \
            --shutdown-grace (each until its own end or the grace, whichever is first), then every model process is \
            stopped (cmdStop or SIGTERM, SIGKILL after 5 s). SIGHUP reloads the config file as one snapshot.

            llama-swap's single-dash flags work too: -config, -listen, -watch-config, -version, -tls-cert-file, \
            -tls-key-file, -config-dir. --listen :8080 listens on every \
            interface, as in llama-swap; without --listen the proxy listens on 127.0.0.1:8080 only (127.0.0.1:8443 \
            with TLS, llama-swap's TLS port).

            Examples:
              llama-proxy --config config.yaml
              llama-proxy --config config.yaml --listen 0.0.0.0:8080 --log-level debug
              llama-proxy -config config.yaml -listen :8080 -watch-config
              llama-proxy --config config.yaml --tls-cert-file cert.pem --tls-key-file key.pem
            """,
        version: ProxyInfo.version
    )

    @Option(name: .long, help: ArgumentHelp("The llama-swap-style configuration file.", valueName: "file"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Address to listen on (127.0.0.1:8080, or 127.0.0.1:8443 with TLS; :port is every interface).",
            valueName: "host:port"))
    var listen: String?

    @Flag(name: .long, help: "Reload the config when its file changes (as SIGHUP does).")
    var watchConfig = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Directory of *.yaml/*.yml files merged after --config, in name order (llama-swap's -config-dir).",
            valueName: "dir"))
    var configDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Serve HTTPS with this PEM certificate chain (llama-swap's -tls-cert-file); needs --tls-key-file.",
            valueName: "file"))
    var tlsCertFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The PEM private key of --tls-cert-file (llama-swap's -tls-key-file).", valueName: "file"))
    var tlsKeyFile: String?

    /// Parses llama-swap's single-dash flags too (see ``ProxyOptions/normalizeArguments(_:)``).
    static func main() async {
        await main(ProxyOptions.normalizeArguments(Array(CommandLine.arguments.dropFirst())))
    }

    func validate() throws {
        if (tlsCertFile == nil) != (tlsKeyFile == nil) {
            throw ValidationError("both --tls-cert-file and --tls-key-file must be given for TLS")
        }
        if config == nil && configDir == nil { throw ValidationError("--config or --config-dir is required") }
    }

    @Option(
        name: .long, help: "trace, debug, info, notice, warning, error or critical (default: the config's logLevel).")
    var logLevel: Logger.Level?

    @Option(name: .long, help: "Seconds requests in flight may take to finish after SIGTERM.")
    var shutdownGrace: Double = 10

    func run() async throws {
        let config = self.config ?? ""  // validate() checked that it or configDir is given
        let listen = self.listen ?? (tlsCertFile == nil ? "127.0.0.1:8080" : "127.0.0.1:8443")
        guard let (host, port) = ProxyOptions.parseListen(listen) else {
            throw ValidationError("--listen expects host:port, got '\(listen)'")
        }
        let loaded: (ProxyConfig, [ConfigWarning])
        do {
            loaded = try ConfigLoader.load(configFile: config, configDir: configDir)
        } catch {
            printToStandardError("\(error)")
            throw ExitCode(2)
        }
        for warning in loaded.1 { printToStandardError("\(warning)") }
        let level = logLevel ?? loaded.0.logLevel
        // logToStdout (read at start): upstream output copied to stdout, the proxy's own lines to stderr or nowhere.
        let console = loaded.0.logToStdout
        let mirror: (@Sendable (String) -> Void)? =
            console.includesUpstream ? { @Sendable line in printToStandardOutput(line) } : nil
        let logs = LogBuffer(upstreamMirror: mirror)
        LoggingSystem.bootstrap { label in
            let buffer = LogBufferLogHandler(buffer: logs, logLevel: level)
            guard console.includesProxy else { return buffer }
            var standardError = StreamLogHandler.standardError(label: label)
            standardError.logLevel = level
            return MultiplexLogHandler([standardError, buffer])
        }
        var options = ProxyOptions(
            configPath: config, host: host, port: port, shutdownGrace: .milliseconds(Int64(shutdownGrace * 1000)),
            watchConfig: watchConfig)
        options.tlsCertificateFile = tlsCertFile
        options.tlsKeyFile = tlsKeyFile
        options.configDir = configDir
        do {
            try await ProxyService.run(
                options: options, config: loaded.0, logs: logs, logger: Logger(label: "llama-proxy"))
        } catch let error as ProxyServiceError {
            printToStandardError(error.description)
            throw ExitCode(1)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Writes one line to stdout (an upstream's output under `logToStdout: upstream` or `both`). `FileHandle.write` is one
/// `write(2)` per line, so lines from several models never interleave mid-line.
func printToStandardOutput(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes one line to stderr, where errors and config warnings go.
func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line.hasSuffix("\n") ? line : line + "\n").utf8))
}
