import Testing

@testable import Proxy

/// The port check's decision, with the bind test injected: which models move, which fail, and what they say.
@Suite struct SupervisorPortClaimTests {
    static let yaml = """
        startPort: 6100
        models:
          moving:
            cmd: llama-server --port ${PORT} -m a.gguf -c 6100
            cmdStop: curl http://127.0.0.1:${PORT}/quit
          fixed:
            cmd: llama-server --port 7000
            proxy: http://127.0.0.1:7000
          pinned:
            cmd: llama-server --port ${PORT}
            proxy: http://127.0.0.1:7100
          remote:
            cmd: ssh gpu llama-server --port 7200
            proxy: http://10.0.0.5:7200
        """

    static func model(_ id: String) throws -> ModelConfig {
        try #require(try ConfigLoader.load(yaml: yaml, file: "ports.yaml").0.models[id])
    }

    @Test func freePortStartsAsConfigured() throws {
        let model = try Self.model("moving")
        #expect(UpstreamProcess.claimPort(for: model, isFree: { _, _ in true }, nextFree: { _, _, _ in nil }) == .free(model))
    }

    /// `${PORT}` fills only the port: `-c 6100` (equal to the old port by chance) stays as written.
    @Test func takenPortModelMovesToTheNextFreePortEverywhereItsPortIsUsed() throws {
        let model = try Self.model("moving")
        #expect(model.upstream.port == 6100 && model.port == 6100)
        let claim = UpstreamProcess.claimPort(
            for: model, avoiding: [6100, 6101, 6102],
            isFree: { port, address in port != 6100 || address != "127.0.0.1" },
            nextFree: { port, _, avoiding in
                #expect(avoiding == [6101, 6102])
                return port + 3
            })
        guard case .moved(let moved, let taken) = claim else {
            Issue.record("expected a move, got \(claim)")
            return
        }
        #expect(taken == 6100)
        #expect(moved.command == ["llama-server", "--port", "6103", "-m", "a.gguf", "-c", "6100"])
        #expect(moved.stopCommand == ["curl", "http://127.0.0.1:6103/quit"])
        #expect(moved.upstream == UpstreamURL(host: "127.0.0.1", port: 6103))
    }

    @Test func takenFixedPortFailsWithAMessageThatSaysWhy() throws {
        for id in ["fixed", "pinned"] {
            let model = try Self.model(id)
            let claim = UpstreamProcess.claimPort(for: model, isFree: { _, _ in false }, nextFree: { port, _, _ in port + 1 })
            guard case .refused(let message) = claim else {
                Issue.record("\(id): a port fixed by proxy: cannot move, got \(claim)")
                continue
            }
            #expect(message.contains("port \(model.upstream.port) of '\(id)'"), "\(message)")
            #expect(message.contains("in use by another process") && message.contains("change proxy:"), "\(message)")
        }
    }

    @Test func noFreePortLeftFailsTheStart() throws {
        let claim = UpstreamProcess.claimPort(for: try Self.model("moving"), isFree: { _, _ in false }, nextFree: { _, _, _ in nil })
        guard case .refused(let message) = claim else {
            Issue.record("expected refused, got \(claim)")
            return
        }
        #expect(message.contains("no free port follows it"), "\(message)")
    }

    /// Another machine's ports are not ours to test.
    @Test func remoteUpstreamIsNotChecked() throws {
        let model = try Self.model("remote")
        var asked = false
        let claim = UpstreamProcess.claimPort(
            for: model, isFree: { _, _ in
                asked = true
                return false
            }, nextFree: { _, _, _ in nil })
        #expect(claim == .free(model) && !asked)
    }

    /// The real bind test: a listener makes its port taken; SO_REUSEADDR keeps TIME_WAIT leftovers free.
    @Test func bindTestSeesAListener() throws {
        let listener = try #require(Listener())
        #expect(!PortCheck.isFree(listener.port, on: "127.0.0.1"))
        #expect(PortCheck.nextFree(after: listener.port - 1, on: "127.0.0.1", avoiding: []) != listener.port)
        let next = try #require(PortCheck.nextFree(after: listener.port, on: "127.0.0.1"))
        #expect(PortCheck.nextFree(after: listener.port, on: "127.0.0.1", avoiding: [next]) != next)
        let port = listener.port
        listener.close()
        #expect(PortCheck.isFree(port, on: "127.0.0.1"))
        #expect(PortCheck.localBindAddress(for: "localhost") == "127.0.0.1")
        #expect(PortCheck.localBindAddress(for: "gpu.example") == nil)
    }

    /// The port the system hands out is a real, free one (not 0, bindable once it is read back).
    @Test func ephemeralPortIsFree() throws {
        let port = try #require(PortCheck.ephemeralPort())
        #expect(port > 0)
        #expect(PortCheck.isFree(port, on: "127.0.0.1"))
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// A listening socket on a port the kernel picks.
private final class Listener {
    let fd: Int32
    let port: Int

    init?() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            _ = Glibc.close(fd)
            return nil
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
