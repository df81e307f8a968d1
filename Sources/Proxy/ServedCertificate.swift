import Foundation
import NIOSSL
import X509

/// One certificate the proxy can serve: its chain, its private key and the host names it
/// covers, loaded from PEM files.
struct ServedCertificate: Sendable {
    /// The name it was loaded under: the file name without `.crt`, or the certbot folder's name.
    let name: String
    /// The leaf certificate first, then the intermediates, as sent in the handshake.
    let chain: [NIOSSLCertificate]
    let privateKey: NIOSSLPrivateKey
    /// The DNS names of its `subjectAltName`, lowercased; `*.example.com` covers one label.
    let hostNames: [String]
    /// When the leaf certificate becomes valid.
    let notValidBefore: Date
    /// When the leaf certificate expires.
    let notValidAfter: Date

    /// Loads and checks a certificate chain and its key: the chain must name at least one host
    /// and the key must be the leaf's.
    init(name: String, chainFile: String, keyFile: String) throws {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(chainFile)
        } catch {
            throw CertificateError.unreadable(file: chainFile, what: "a PEM certificate chain")
        }
        guard let leaf = chain.first else {
            throw CertificateError.unreadable(file: chainFile, what: "a PEM certificate chain")
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw CertificateError.unreadable(file: keyFile, what: "an unencrypted PEM private key")
        }
        let parsed: Certificate
        do {
            parsed = try Certificate(derEncoded: leaf.toDERBytes())
        } catch {
            throw CertificateError.unreadable(file: chainFile, what: "an X.509 certificate")
        }
        let alternativeNames = (try? parsed.extensions.subjectAlternativeNames) ?? nil
        let names = Array(alternativeNames ?? SubjectAlternativeNames())
        hostNames = names.compactMap { name in
            if case .dnsName(let host) = name { host.lowercased() } else { nil }
        }
        // One for addresses only (clients send no name for them) serves those that ask for none.
        let namesAddress = names.contains { if case .ipAddress = $0 { true } else { false } }
        guard !hostNames.isEmpty || namesAddress else { throw CertificateError.namesNoHost(file: chainFile) }
        self.name = name
        self.chain = chain
        self.notValidBefore = parsed.notValidBefore
        self.notValidAfter = parsed.notValidAfter
        // BoringSSL checks that the key belongs to the leaf when it builds a context with both.
        do {
            _ = try NIOSSLContext(configuration: serverConfiguration)
        } catch {
            throw CertificateError.keyMismatch(keyFile: keyFile, chainFile: chainFile, reason: "\(error)")
        }
    }

    /// A server configuration that serves this certificate.
    var serverConfiguration: TLSConfiguration {
        .makeServerConfiguration(certificateChain: chainSources, privateKey: .privateKey(privateKey))
    }

    private var chainSources: [NIOSSLCertificateSource] { chain.map { .certificate($0) } }

    /// How it covers `host` (lowercase), nil when it does not.
    enum Match {
        /// By a wildcard for its first label.
        case wildcard
        /// By its name.
        case exact
    }

    /// Whether and how it covers `host` (lowercase): by an exact name or a wildcard for one label.
    func match(_ host: String) -> Match? {
        if hostNames.contains(host) { return .exact }
        guard let dot = host.firstIndex(of: ".") else { return nil }
        return hostNames.contains("*" + host[dot...]) ? .wildcard : nil
    }

    /// The handshake settings that serve this certificate.
    var override: NIOSSLContextConfigurationOverride {
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = chainSources
        override.privateKey = .privateKey(privateKey)
        return override
    }
}
