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
        /// Why the last reload of the whole folder failed, reported once until it changes.
        var failure: String?
    }

    /// What a reload did.
    public struct Reload: Sendable {
        /// Whether the folder changed and was loaded again.
        public var changed: Bool
        /// The certificates that could not be loaded, each saying why; their last good
        /// versions, if any, go on serving, and the others' renewals are taken meanwhile.
        public var problems: [String]
    }

    /// Loads the folder's certificates; throws a ``CertificateError`` that says what to fix
    /// when one is missing, unreadable or does not match its key, or when there is none.
    public init(folder: String) throws {
        self.folder = folder
        let scan = try Self.scan(folder)
        let load = Self.load(scan, keeping: [])
        if let problem = load.problems.first { throw problem }
        guard !load.certificates.isEmpty else { throw CertificateError.empty(folder) }
        loaded = NIOLockedValueBox(Loaded(certificates: load.certificates, signature: scan.signature))
    }

    /// Loads the folder again if a file in it was added, removed or changed since the last
    /// load. A certificate that cannot be loaded keeps its last good version; when the folder
    /// cannot be read or holds no good certificate at all this throws, once for each distinct
    /// failure, and the proxy keeps serving what it had.
    @discardableResult
    public func reloadIfChanged() throws -> Reload {
        do {
            let scan = try Self.scan(folder)
            let (signature, current) = loaded.withLockedValue { ($0.signature, $0.certificates) }
            guard scan.signature != signature else { return Reload(changed: false, problems: []) }
            let load = Self.load(scan, keeping: current)
            guard !load.certificates.isEmpty else { throw CertificateError.empty(folder) }
            loaded.withLockedValue { $0 = Loaded(certificates: load.certificates, signature: scan.signature) }
            return Reload(changed: true, problems: load.problems.map { "\($0)" })
        } catch {
            let failure = "\(error)"
            let isNew = loaded.withLockedValue { loaded in
                defer { loaded.failure = failure }
                return loaded.failure != failure
            }
            if isNew { throw error }
            return Reload(changed: false, problems: [])
        }
    }

    /// Logs each certificate's hosts, and warns about one that has expired, expires within
    /// 14 days or is not valid yet (only the warnings when `onlyWarnings`).
    public func log(to logger: Logger, onlyWarnings: Bool = false) {
        let now = Date()
        for certificate in loaded.withLockedValue({ $0.certificates }) {
            let metadata: Logger.Metadata = [
                "certificate": "\(certificate.name)", "hosts": "\(certificate.hostNames.joined(separator: " "))",
                "expires": "\(certificate.notValidAfter)",
            ]
            let left = certificate.notValidAfter.timeIntervalSince(now)
            if left <= 0 {
                logger.warning("certificate has expired: renew it", metadata: metadata)
            } else if left < Self.renewalWarning {
                let days = Int(left / 86400)
                let when = days == 0 ? "within a day" : "in \(days) day\(days == 1 ? "" : "s")"
                logger.warning("certificate expires \(when): renew it", metadata: metadata)
            } else if certificate.notValidBefore > now {
                logger.warning(
                    "certificate is not valid yet (valid from \(certificate.notValidBefore))", metadata: metadata)
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
                let (certificate, match) = candidate
                let valid = certificate.notValidBefore <= now && now < certificate.notValidAfter
                return (match == .exact ? 1 : 0, valid ? 1 : 0, certificate.notValidAfter)
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
        var configuration = certificate(for: nil).serverConfiguration
        configuration.applicationProtocols = ["http/1.1"]
        configuration.minimumTLSVersion = .tlsv12
        // TLS 1.2 with forward secrecy and AEAD only: Mozilla's "intermediate" list. (TLS 1.3
        // has its own, all good.)
        configuration.cipherSuites = Self.cipherSuites
        // A closing connection waits this long at most for the client's close_notify.
        configuration.shutdownTimeout = .seconds(2)
        configuration.sslContextCallback = { [self] values, promise in
            promise.succeed(certificate(for: values.serverHostname).override)
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Mozilla's "intermediate" TLS 1.2 cipher suites.
    static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    // MARK: Loading

    /// A certificate's files, found by the folder's layout.
    private struct Pair {
        let name: String
        let chainFile: String
        let keyFile: String
    }

    /// What a look at the folder found: the pairs, the files that lack their other half,
    /// and the stamps of every file there is to load.
    private struct Scan {
        var pairs: [Pair] = []
        /// Certificates with one of their two files missing, and why.
        var incomplete: [(name: String, error: CertificateError)] = []
        var signature: [FileStamp] = []
    }

    /// Loads each pair of `scan`; one that fails (or lacks its key) keeps its version in
    /// `previous`, if any, and is named in the problems.
    private static func load(_ scan: Scan, keeping previous: [ServedCertificate]) -> (
        certificates: [ServedCertificate], problems: [any Error]
    ) {
        var certificates: [ServedCertificate] = []
        var problems: [any Error] = []
        func keepPrevious(_ name: String, because error: any Error) {
            problems.append(error)
            certificates.append(contentsOf: previous.filter { $0.name == name })
        }
        for pair in scan.pairs {
            do {
                certificates.append(
                    try ServedCertificate(name: pair.name, chainFile: pair.chainFile, keyFile: pair.keyFile))
            } catch {
                keepPrevious(pair.name, because: error)
            }
        }
        for (name, error) in scan.incomplete { keepPrevious(name, because: error) }
        return (certificates.sorted { $0.name < $1.name }, problems)
    }

    private static func scan(_ folder: String) throws -> Scan {
        let files = FileManager.default
        var isFolder: ObjCBool = false
        guard files.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue,
            let names = try? files.contentsOfDirectory(atPath: folder)
        else {
            throw CertificateError.folderUnreadable(folder)
        }
        var scan = Scan()
        var claimed = Set<String>()
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = folder + "/" + name
            guard files.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
            let pair: Pair
            if isFolder.boolValue {
                pair = Pair(name: name, chainFile: path + "/fullchain.pem", keyFile: path + "/privkey.pem")
            } else if name.hasSuffix(".crt") {
                let base = String(name.dropLast(4))
                pair = Pair(name: base, chainFile: path, keyFile: folder + "/" + base + ".key")
            } else {
                continue
            }
            // NAME/ sorts before NAME.crt: the folder's certificate is the one of the name.
            guard !claimed.contains(pair.name) else { continue }
            guard let chainStamp = FileStamp(pair.chainFile) else {
                // A folder without either file is no certbot folder; one with only its key
                // is one in the middle of a renewal (certbot relinks one file, then the other).
                if isFolder.boolValue, let keyStamp = FileStamp(pair.keyFile) {
                    claimed.insert(pair.name)
                    scan.signature.append(keyStamp)
                    let error = CertificateError.unreadable(file: pair.chainFile, what: "a readable certificate chain")
                    scan.incomplete.append((pair.name, error))
                }
                continue
            }
            claimed.insert(pair.name)
            scan.signature.append(chainStamp)
            guard let keyStamp = FileStamp(pair.keyFile) else {
                let error = CertificateError.missingKey(chainFile: pair.chainFile, keyFile: pair.keyFile)
                scan.incomplete.append((pair.name, error))
                continue
            }
            scan.signature.append(keyStamp)
            scan.pairs.append(pair)
        }
        return scan
    }

    /// What a file looked like when loaded: a change to any of it (certbot renews by pointing
    /// its links at new files) means loading again.
    private struct FileStamp: Equatable {
        let path: String
        let device: UInt64
        let inode: UInt64
        let size: Int64
        /// Modification and status-change times in nanoseconds; the latter also moves for a
        /// copy that keeps the modification time (`cp -p`).
        let modified: Int
        let changed: Int

        /// The stamp of the file at `path`, following links; nil when there is none.
        init?(_ path: String) {
            var status = stat()
            guard stat(path, &status) == 0 else { return nil }
            self.path = path
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
            size = Int64(status.st_size)
            modified = status.st_mtim.tv_sec * 1_000_000_000 + status.st_mtim.tv_nsec
            changed = status.st_ctim.tv_sec * 1_000_000_000 + status.st_ctim.tv_nsec
        }
    }
}
