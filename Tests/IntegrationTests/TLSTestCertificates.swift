import Foundation
import NIOSSL

/// A certificate authority and a server certificate made at test time with the `openssl` command line (nothing
/// secret is committed): the CA is what a test's proxy trusts, the server certificate is for `localhost` only (or the
/// names given), signed by the CA. No IP entry by default: NIOSSL accepts a certificate whose IP entry is the address
/// connected to whatever name was asked for, so a name-only certificate is what makes a test depend on the host name
/// being sent and checked. EC P-256 keys, valid for two days.
struct TLSTestCertificates {
    let directory: URL
    var caFile: String { directory.appendingPathComponent("ca.pem").path }
    var certificateFile: String { directory.appendingPathComponent("server.pem").path }
    var keyFile: String { directory.appendingPathComponent("server.key").path }

    /// The CA as NIOSSL reads it (for ``UpstreamTLS``'s test trust).
    var ca: NIOSSLCertificate {
        get throws {
            guard let ca = try NIOSSLCertificate.fromPEMFile(caFile).first else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: caFile])
            }
            return ca
        }
    }

    static func make(names: [String] = ["DNS:localhost"]) throws -> TLSTestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let made = TLSTestCertificates(directory: directory)
        let extensions = directory.appendingPathComponent("server.ext").path
        try """
            subjectAltName=\(names.joined(separator: ","))
            basicConstraints=CA:FALSE
            keyUsage=digitalSignature
            extendedKeyUsage=serverAuth

            """.write(toFile: extensions, atomically: true, encoding: .utf8)
        let dir = directory.path
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(dir)/ca.key", "-out", made.caFile, "-days", "2", "-subj", "/CN=llama-proxy test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        ])
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", made.keyFile,
            "-out", "\(dir)/server.csr", "-subj", "/CN=localhost",
        ])
        try openssl([
            "x509", "-req", "-in", "\(dir)/server.csr", "-CA", made.caFile, "-CAkey", "\(dir)/ca.key",
            "-CAcreateserial", "-out", made.certificateFile, "-days", "2", "-extfile", extensions,
        ])
        return made
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `openssl` with `arguments`, bounded at 30 s; a failure carries its output.
    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            throw TLSTestError("openssl \(arguments.first ?? "") did not finish within 30 s")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw TLSTestError("openssl \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}

struct TLSTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
