import Foundation

/// Makes the kernel SIGKILL a child if the proxy itself dies (SIGKILL, crash), so no `llama-server` outlives it.
///
/// Linux's `PR_SET_PDEATHSIG` must be set inside the child, between fork and exec. swift-subprocess 1.0.2 offers no
/// pre-exec hook on Linux (`preSpawnProcessConfigurator` exists only on Darwin and Windows), so the command is
/// started through util-linux's `setpriv --pdeathsig KILL --`, which sets it and then execs the real command (same
/// pid, so `${PID}` and signals still reach the server).
///
/// Why this is safe here: the "parent" the kernel watches is the *thread* that spawned the child, and
/// swift-subprocess spawns every child from one worker thread that lives as long as the process, so a child is not
/// killed when some pool thread retires. Limits: it covers the direct child (grandchildren in its process group are
/// stopped by the normal group teardown, not by the kernel); without `setpriv` the command runs unwrapped and only
/// the orderly shutdown stops it.
public enum ParentDeathSignal {
    /// Where `setpriv` was found, if it supports `--pdeathsig`; looked up once.
    public static let setprivPath: String? = {
        #if os(Linux)
            let candidates = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv", "/sbin/setpriv"]
            return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        #else
            return nil
        #endif
    }()

    /// `argv` wrapped so that the kernel kills it when the proxy dies; unchanged when that is not possible.
    public static func wrap(_ argv: [String], setpriv: String? = setprivPath) -> [String] {
        guard let setpriv, !argv.isEmpty else { return argv }
        return [setpriv, "--pdeathsig", "KILL", "--"] + argv
    }
}
