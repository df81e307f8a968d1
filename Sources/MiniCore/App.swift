import Foundation

/// One release of an app: an image plus the configuration it runs with.
public struct ReleaseInfo: Codable, Sendable, Equatable {
    public var app: AppName
    /// `N` of `vN`, monotonic per app.
    public var version: Int
    public var image: String
    public var job: JobID?
    public var createdAt: Date

    public init(app: AppName, version: Int, image: String, job: JobID?, createdAt: Date) {
        self.app = app
        self.version = version
        self.image = image
        self.job = job
        self.createdAt = createdAt
    }
}

/// An app as the API shows it.
public struct AppInfo: Codable, Sendable, Equatable {
    public var name: AppName
    public var url: String
    /// The release that serves, if any.
    public var release: Int?
    public var createdAt: Date

    public init(name: AppName, url: String, release: Int?, createdAt: Date) {
        self.name = name
        self.url = url
        self.release = release
        self.createdAt = createdAt
    }
}

/// `GET /v1/apps` answer.
public struct AppList: Codable, Sendable, Equatable {
    public var apps: [AppInfo]
    public init(apps: [AppInfo]) { self.apps = apps }
}

/// Where the proxy sends one app's traffic: `127.0.0.1:<port>` for each healthy instance.
public struct Route: Codable, Sendable, Hashable {
    public var app: AppName
    public var host: String
    public var port: Int

    public init(app: AppName, host: String = "127.0.0.1", port: Int) {
        self.app = app
        self.host = host
        self.port = port
    }
}
