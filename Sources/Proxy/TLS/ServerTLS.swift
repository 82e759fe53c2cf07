import NIOSSL

/// TLS serving (`--tls-cert-file`, `--tls-key-file`, llama-swap's `-tls-cert-file`/`-tls-key-file`): the server's
/// certificate chain and key, read once at start. Every accepted connection gets a `NIOSSLServerHandler` in front of
/// the HTTP codec (``ProxyServer``).
public struct ServerTLS: Sendable {
    let context: NIOSSLContext

    /// Reads a PEM certificate chain (leaf first, as Go's `ListenAndServeTLS` takes it) and a PEM private key.
    /// The error names the file that could not be used.
    public init(certificateFile: String, keyFile: String) throws(ServerTLSError) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw ServerTLSError("cannot read the TLS certificate '\(certificateFile)': \(error)")
        }
        if chain.isEmpty { throw ServerTLSError("no PEM certificate in '\(certificateFile)'") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw ServerTLSError("cannot read the TLS private key '\(keyFile)': \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = ["http/1.1"]
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ServerTLSError(
                "cannot use '\(certificateFile)' with '\(keyFile)' (does the key belong to the certificate?): \(error)")
        }
    }
}

/// Why TLS serving cannot start; the message names the file.
public struct ServerTLSError: Error, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
