import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP reloads the config file: a config with errors is refused (logged) and the running one kept; a good one
/// goes through ``Supervisor/reload(_:)``, which swaps the one snapshot router and supervisor read. Ends on
/// graceful shutdown (last in the group, so first to go: no reload during a shutdown).
public struct ConfigReloadService: Service {
    let path: String
    /// `--config-dir`: reloads merge its files again after `path` (``ConfigLoader/load(configFile:configDir:environment:)``).
    let configDir: String?
    let supervisor: Supervisor
    let logger: Logger

    public init(path: String, configDir: String? = nil, supervisor: Supervisor, logger: Logger) {
        self.path = path
        self.configDir = configDir
        self.supervisor = supervisor
        self.logger = logger
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    /// Loads the file once and applies it (what one SIGHUP does).
    public func reload() async {
        do {
            let (config, warnings) = try ConfigLoader.load(configFile: path, configDir: configDir)
            for warning in warnings { logger.warning("\(warning)") }
            await supervisor.reload(config)
            logger.notice("config reloaded from \([path, configDir ?? ""].filter { !$0.isEmpty }.joined(separator: " and "))")
        } catch {
            logger.error("config not reloaded: \(error)")
        }
    }
}
