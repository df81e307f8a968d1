import MiniCore
import Store

/// Settings of the HTTP API, with their defaults.
public struct APIConfiguration: Sendable {
    /// Where the database, uploads and logs live.
    public var dataDirectory: DataDirectory
    /// The largest accepted upload, in bytes. Default 1 GiB; larger bodies get 413.
    public var maxUploadBytes: Int64 = 1 << 30
    /// The most bytes of file content an uploaded build context may unpack to, checked header
    /// by header as it streams in; more gets 413. The Docker engine writes the whole context
    /// to its disk before it builds, and gzip shrinks a file of zeros a thousand times, so
    /// ``maxUploadBytes`` alone lets a 1 GiB upload fill a terabyte. Default 8 GiB: eight
    /// times the default upload, more than a context that fits it needs (gzip shrinks source
    /// three to five times, assets and binaries less), while a gzip bomb stops at 8 GiB.
    public var maxContextBytes: Int64 = 8 << 30
    /// The most entries (files, directories, links) an uploaded build context may hold; more
    /// gets 413. Each costs the Docker engine an inode but the upload only a few dozen
    /// gzipped bytes, so a 1 GiB upload could hold tens of millions. Default 1,000,000: ten
    /// times a large `node_modules`.
    public var maxContextEntries: Int = 1_000_000
    /// The free disk space the uploads folder must keep: an upload that would leave less
    /// (by its declared length, or as it streams in) gets 503 and is removed, so that
    /// uploads cannot fill the disk the database, build logs and the Docker engine share.
    /// Default 512 MiB.
    public var minFreeDiskBytes: Int64 = 512 << 20
    /// The domain apps are served under: `<app>.<domain>`. Default `localhost`.
    public var domain: String = "localhost"
    /// The port the proxy listens on, for the app URLs the API shows. Default 8080.
    public var proxyPort: Int = 8080
    /// The proxy's HTTPS port when it serves apps over HTTPS: app URLs are then `https` on
    /// it. Default nil (`http` on ``proxyPort``).
    public var proxyTLSPort: Int?
    /// How often a followed build log checks for new lines and for the job's end (a file
    /// read and a SQLite read, a few microseconds). Default 25 ms: `mini deploy` returns
    /// that much after its job at most.
    public var logPollInterval: Duration = .milliseconds(25)
    /// How long destroying an app waits for its running job to stop and remove what it
    /// started before answering 409. Default 20 s, within the CLI's 30 s request timeout.
    public var destroyJobStopTimeout: Duration = .seconds(20)
    /// More metrics for `/metrics`, such as the proxy's when it runs in the same process.
    /// Default none.
    public var additionalMetrics: (@Sendable (inout PrometheusText) async -> Void)?
    /// The one-off containers (`mini run`) this API runs, shared with the reconciler of the
    /// same process, which removes all others. Default: a registry of its own (an API without
    /// a reconciler beside it).
    public var oneOffRuns = OneOffRuns()

    public init(dataDirectory: DataDirectory) {
        self.dataDirectory = dataDirectory
    }

    /// `https://<app>.<domain>[:port]` when the proxy serves HTTPS, else `http://…` (see ``AppURL``).
    func url(of app: String) -> String {
        let (scheme, port) = proxyTLSPort.map { ("https", $0) } ?? ("http", proxyPort)
        return AppURL.of(app, scheme: scheme, domain: domain, port: port)
    }
}
