/// A certificate folder the proxy cannot serve from, with what to do about it.
public struct CertificateError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case folderUnreadable(String)
        case empty(String)
        case missingKey(chainFile: String, keyFile: String)
        case unreadable(file: String, what: String)
        case namesNoHost(String)
        case keyMismatch(keyFile: String, chainFile: String, reason: String)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// The folder does not exist or cannot be listed.
    static func folderUnreadable(_ folder: String) -> CertificateError { CertificateError(.folderUnreadable(folder)) }
    /// The folder holds no certificate.
    static func empty(_ folder: String) -> CertificateError { CertificateError(.empty(folder)) }
    /// A certificate file has no key file beside it.
    static func missingKey(chainFile: String, keyFile: String) -> CertificateError {
        CertificateError(.missingKey(chainFile: chainFile, keyFile: keyFile))
    }
    /// A file is not what it must be.
    static func unreadable(file: String, what: String) -> CertificateError {
        CertificateError(.unreadable(file: file, what: what))
    }
    /// A certificate has no DNS name in its `subjectAltName`.
    static func namesNoHost(file: String) -> CertificateError { CertificateError(.namesNoHost(file)) }
    /// A key and a chain that TLS cannot serve together (most often: the key is not the leaf's).
    static func keyMismatch(keyFile: String, chainFile: String, reason: String) -> CertificateError {
        CertificateError(.keyMismatch(keyFile: keyFile, chainFile: chainFile, reason: reason))
    }

    public var description: String {
        switch code {
        case .folderUnreadable(let folder):
            "cannot read the certificate folder \(folder): check that it is a folder (not a file) and that minid may read it"
        case .empty(let folder):
            "no certificate in \(folder): put NAME.crt (the chain, leaf first) and NAME.key (its key) there, "
                + "or certbot's folders holding fullchain.pem and privkey.pem"
        case .missingKey(let chainFile, let keyFile):
            "\(chainFile) has no key beside it: put its private key in \(keyFile)"
        case .unreadable(let file, let what):
            "\(file) is not \(what)"
        case .namesNoHost(let file):
            "\(file) names no host: its first certificate, the site's own (intermediates follow it), needs DNS "
                + "names (or IP addresses) in subjectAltName (browsers ignore the common name)"
        case .keyMismatch(let keyFile, let chainFile, let reason):
            "\(keyFile) and \(chainFile) cannot be served together; is the key the first certificate's? (\(reason))"
        }
    }
}
