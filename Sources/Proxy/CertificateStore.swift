import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL

/// The TLS certificates in a folder, picked for each handshake by the host name the client
/// asks for (SNI), and loaded anew when the folder's files change (a renewal).
///
/// The folder holds pairs `NAME.crt` (the chain, leaf first, PEM) and `NAME.key` (its
/// unencrypted PEM key), as nginx and Dokku keep them, and certbot's layout: folders holding
/// `fullchain.pem` and `privkey.pem` (point it at `/etc/letsencrypt/live`). A certificate
/// serves the DNS names of its `subjectAltName` (`*.example.com` covers one label); among
/// those covering a name, one naming it exactly wins over a wildcard, then an unexpired one,
/// then the one that expires last (an old certbot lineage beside its successor). A client
/// that names no host, or one no certificate covers, gets the first certificate by name.
public final class CertificateStore: Sendable {
    /// The folder the certificates are loaded from.
    public let folder: String
    private let loaded: NIOLockedValueBox<Loaded>

    private struct Loaded {
        var certificates: [ServedCertificate]
        var signature: [FileStamp]
        /// Why the last reload failed, reported once until the files change or it succeeds.
        var failure: String?
    }

    /// Loads the folder's certificates; throws a ``CertificateError`` that says what to fix
    /// when one is missing, unreadable or does not match its key, or when there is none.
    public init(folder: String) throws {
        self.folder = folder
        let signature = try Self.signature(of: folder)
        loaded = NIOLockedValueBox(Loaded(certificates: try Self.load(folder), signature: signature))
    }

    /// Loads the folder again if a file in it was added, removed or changed since the last
    /// load, and says whether it did. When the new files are bad it throws, once for each
    /// distinct failure, and the proxy keeps serving the certificates it had.
    @discardableResult
    public func reloadIfChanged() throws -> Bool {
        do {
            let signature = try Self.signature(of: folder)
            guard signature != loaded.withLockedValue({ $0.signature }) else { return false }
            let certificates = try Self.load(folder)
            loaded.withLockedValue { $0 = Loaded(certificates: certificates, signature: signature) }
            return true
        } catch {
            let failure = "\(error)"
            let isNew = loaded.withLockedValue { loaded in
                defer { loaded.failure = failure }
                return loaded.failure != failure
            }
            if isNew { throw error }
            return false
        }
    }

    /// Each certificate's name, the hosts it covers and when it expires.
    public var summary: [(name: String, hosts: [String], notValidAfter: Date)] {
        loaded.withLockedValue { $0.certificates }.map { ($0.name, $0.hostNames, $0.notValidAfter) }
    }

    /// Logs each certificate's hosts, and warns about one that expires within 14 days (only
    /// the warnings when `onlyWarnings`).
    public func log(to logger: Logger, onlyWarnings: Bool = false) {
        for certificate in summary {
            let metadata: Logger.Metadata = [
                "certificate": "\(certificate.name)", "hosts": "\(certificate.hosts.joined(separator: " "))",
                "expires": "\(certificate.notValidAfter)",
            ]
            if certificate.notValidAfter.timeIntervalSinceNow < Self.renewalWarning {
                logger.warning("certificate expires soon or has expired: renew it", metadata: metadata)
            } else if !onlyWarnings {
                logger.info("serving certificate", metadata: metadata)
            }
        }
    }

    /// How long before a certificate expires its load is logged as a warning.
    static let renewalWarning: TimeInterval = 14 * 24 * 3600

    /// The certificate for a client that asked for `serverName` (nil: it sent no SNI).
    func certificate(for serverName: String?) -> ServedCertificate {
        let certificates = loaded.withLockedValue { $0.certificates }
        guard let serverName else { return certificates[0] }
        let host = HostName.normalize(serverName)
        let now = Date()
        let best = certificates.lazy.compactMap { certificate in
            certificate.match(host).map { (certificate, $0) }
        }.max { lower, higher in
            func rank(_ candidate: (ServedCertificate, ServedCertificate.Match)) -> (Int, Int, Date) {
                (candidate.1 == .exact ? 1 : 0, candidate.0.notValidAfter > now ? 1 : 0, candidate.0.notValidAfter)
            }
            return rank(lower) < rank(higher)
        }
        return best?.0 ?? certificates[0]
    }

    /// Whether a certificate covers `host` (normalized), so that HTTPS can serve it.
    func covers(host: String) -> Bool {
        loaded.withLockedValue { $0.certificates }.contains { $0.match(host) != nil }
    }

    /// A server context that serves the store's certificates, the current ones at each
    /// handshake: HTTP/1.1 only (ALPN), TLS 1.2 and later.
    func makeServerContext() throws -> NIOSSLContext {
        let first = certificate(for: nil)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: first.chain.map { .certificate($0) }, privateKey: .privateKey(first.privateKey))
        configuration.applicationProtocols = ["http/1.1"]
        configuration.minimumTLSVersion = .tlsv12
        // A closing connection waits this long at most for the client's close_notify.
        configuration.shutdownTimeout = .seconds(2)
        configuration.sslContextCallback = { [self] values, promise in
            promise.succeed(certificate(for: values.serverHostname).override)
        }
        return try NIOSSLContext(configuration: configuration)
    }

    // MARK: Loading

    /// A certificate's files, found by the folder's layout.
    private struct Pair {
        let name: String
        let chainFile: String
        let keyFile: String
    }

    private static func load(_ folder: String) throws -> [ServedCertificate] {
        let certificates = try pairs(in: folder).map {
            try ServedCertificate(name: $0.name, chainFile: $0.chainFile, keyFile: $0.keyFile)
        }
        guard !certificates.isEmpty else { throw CertificateError.empty(folder) }
        return certificates
    }

    private static func pairs(in folder: String) throws -> [Pair] {
        let files = FileManager.default
        guard let names = try? files.contentsOfDirectory(atPath: folder) else {
            throw CertificateError.folderUnreadable(folder)
        }
        var pairs: [Pair] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = folder + "/" + name
            var isFolder: ObjCBool = false
            guard files.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue {
                let chain = path + "/fullchain.pem"
                let key = path + "/privkey.pem"
                guard files.fileExists(atPath: chain) else { continue }
                guard files.fileExists(atPath: key) else {
                    throw CertificateError.missingKey(chainFile: chain, keyFile: key)
                }
                pairs.append(Pair(name: name, chainFile: chain, keyFile: key))
            } else if name.hasSuffix(".crt") {
                let base = String(name.dropLast(4))
                let key = folder + "/" + base + ".key"
                guard files.fileExists(atPath: key) else {
                    throw CertificateError.missingKey(chainFile: path, keyFile: key)
                }
                pairs.append(Pair(name: base, chainFile: path, keyFile: key))
            }
        }
        return pairs
    }

    /// What a file looked like when loaded: a change to any of it (certbot renews by pointing
    /// its links at new files) means loading again.
    private struct FileStamp: Equatable {
        let path: String
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modified: timespec
        /// Also changed by a copy that keeps the modification time (`cp -p`).
        let changed: timespec

        static func == (lhs: FileStamp, rhs: FileStamp) -> Bool {
            lhs.path == rhs.path && lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
                && same(lhs.modified, rhs.modified) && same(lhs.changed, rhs.changed)
        }

        private static func same(_ lhs: timespec, _ rhs: timespec) -> Bool {
            lhs.tv_sec == rhs.tv_sec && lhs.tv_nsec == rhs.tv_nsec
        }
    }

    /// The stamps of every file a load reads, following links.
    private static func signature(of folder: String) throws -> [FileStamp] {
        try pairs(in: folder).flatMap { [$0.chainFile, $0.keyFile] }.map { path in
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw CertificateError.unreadable(file: path, what: "a readable file")
            }
            return FileStamp(
                path: path, device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
                modified: status.st_mtim, changed: status.st_ctim)
        }
    }
}
