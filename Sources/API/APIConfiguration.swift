import Store

/// Settings of the HTTP API, with their defaults.
public struct APIConfiguration: Sendable {
    /// Where the database, uploads and logs live.
    public var dataDirectory: DataDirectory
    /// The largest accepted upload, in bytes. Default 1 GiB; larger bodies get 413.
    public var maxUploadBytes: Int64 = 1 << 30
    /// The domain apps are served under: `<app>.<domain>`. Default `localhost`.
    public var domain: String = "localhost"
    /// The port the proxy listens on, for the app URLs the API shows. Default 8080.
    public var proxyPort: Int = 8080
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

    public init(dataDirectory: DataDirectory) {
        self.dataDirectory = dataDirectory
    }

    /// `http://<app>.<domain>[:port]`.
    func url(of app: String) -> String {
        let port = proxyPort == 80 ? "" : ":\(proxyPort)"
        return "http://\(app).\(domain)\(port)"
    }
}
