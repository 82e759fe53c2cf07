/// What `llama-proxy` was asked to do; the executable only parses arguments into this.
public struct ProxyOptions: Sendable, Hashable {
    public var configPath: String
    public var host: String
    public var port: Int
    /// How long in-flight requests may finish after SIGTERM before connections and children are stopped.
    public var shutdownGrace: Duration
    /// Reload the config when its file changes (`--watch-config`, llama-swap's `-watch-config`), as SIGHUP does.
    public var watchConfig: Bool
    /// TLS serving (`--tls-cert-file`, `--tls-key-file`): a PEM certificate chain and its key; both or neither.
    public var tlsCertificateFile: String? = nil
    public var tlsKeyFile: String? = nil
    /// `--config-dir` (llama-swap's `-config-dir`): YAML files merged after `configPath` (``ConfigDirMerge``);
    /// `configPath` may then be empty.
    public var configDir: String? = nil

    public init(
        configPath: String, host: String = "127.0.0.1", port: Int = 8080, shutdownGrace: Duration = .seconds(10),
        watchConfig: Bool = false
    ) {
        self.configPath = configPath
        self.host = host
        self.port = port
        self.shutdownGrace = shutdownGrace
        self.watchConfig = watchConfig
    }

    /// Parses `host:port`, `[::1]:8080` (IPv6) or `port` (loopback). `:port` means every interface, as in Go's
    /// `net.Listen` (llama-swap's `-listen :8080`); the proxy's own default stays `127.0.0.1:8080`.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = colon == text.startIndex ? "0.0.0.0" : String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else { return nil }
        return (host, port)
    }

    /// llama-swap's single-dash Go flags, spelled the way `llama-proxy` spells them.
    public static let llamaSwapFlags: [String: String] = [
        "-config": "--config", "-listen": "--listen", "-watch-config": "--watch-config", "-config-dir": "--config-dir",
        "-tls-cert-file": "--tls-cert-file", "-tls-key-file": "--tls-key-file", "-version": "--version",
    ]

    /// Rewrites llama-swap's flags (`-config file`, `-config=file`, `--config=file` already works, `-watch-config=true`)
    /// into this proxy's (`--config file`), so a llama-swap command line runs unchanged. Everything after `--`, values
    /// of flags and unknown arguments are left as they are (the parser reports unknown ones).
    public static func normalizeArguments(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                result.append(contentsOf: arguments[(index - 1)...])
                break
            }
            // Go accepts both -flag and --flag, with the value after = or as the next argument.
            let dashes = argument.hasPrefix("--") ? 2 : argument.hasPrefix("-") ? 1 : 0
            guard dashes > 0 else {
                result.append(argument)
                continue
            }
            let body = argument.dropFirst(dashes)
            let name = String(body.prefix { $0 != "=" })
            let value = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
            guard let long = llamaSwapFlags["-" + name] else {
                result.append(argument)
                continue
            }
            if long == "--watch-config" || long == "--version" {
                // Go booleans: -watch-config, -watch-config=true, -watch-config=false.
                switch value?.lowercased() {
                case nil, "true", "1", "t": result.append(long)
                case "false", "0", "f": break
                default: result.append(argument)  // let the parser reject it
                }
                continue
            }
            if let value {
                result.append(contentsOf: [long, value])
            } else {
                result.append(long)
                if index < arguments.count {
                    result.append(arguments[index])  // the value, even if it starts with '-'
                    index += 1
                }
            }
        }
        return result
    }
}
