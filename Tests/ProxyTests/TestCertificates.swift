import Foundation
import NIOSSL

/// A temporary folder of self-signed certificates made by the real `openssl`, laid out as
/// ``CertificateStore`` reads it.
struct TestCertificates {
    let folder: String

    /// How a certificate's files are laid out.
    enum Layout {
        /// `NAME.crt` and `NAME.key`.
        case pair
        /// certbot's `NAME/fullchain.pem` and `NAME/privkey.pem`.
        case certbot
    }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mini-certs-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Makes a certificate for `hosts` (DNS names) and `addresses` (IPs) valid for `days`,
    /// with the common name `name`.
    func add(
        _ name: String, hosts: [String], addresses: [String] = [], days: Int = 30, layout: Layout = .pair
    ) throws {
        let (chain, key) = files(name, layout)
        try FileManager.default.createDirectory(
            atPath: (chain as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let names = (hosts.map { "DNS:\($0)" } + addresses.map { "IP:\($0)" }).joined(separator: ",")
        var arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", String(days), "-subj", "/CN=\(name)", "-keyout", key, "-out", chain,
        ]
        if !names.isEmpty {
            arguments += ["-addext", "subjectAltName=\(names)"]
        }
        try Self.openssl(arguments)
    }

    /// The chain and key files of certificate `name`.
    func files(_ name: String, _ layout: Layout = .pair) -> (chain: String, key: String) {
        switch layout {
        case .pair: ("\(folder)/\(name).crt", "\(folder)/\(name).key")
        case .certbot: ("\(folder)/\(name)/fullchain.pem", "\(folder)/\(name)/privkey.pem")
        }
    }

    /// The leaf certificate of `name`, to trust as its own root.
    func certificate(_ name: String, _ layout: Layout = .pair) throws -> NIOSSLCertificate {
        try NIOSSLCertificate.fromPEMFile(files(name, layout).chain)[0]
    }

    /// Runs `openssl` with `arguments`, failing when it does.
    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments) failed"])
        }
    }
}
