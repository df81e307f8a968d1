import Foundation

/// Identifies a build job. Job ids are positive and increase in the order jobs are queued.
public typealias JobID = Int64

/// The life of a build job: `queued → running → succeeded | failed | cancelled`.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    /// True once the job can change no more.
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}

/// What a job does.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    /// Build an uploaded context and release it.
    case deploy
    /// Release an existing image again with changed settings: env, scale, limits, rollback.
    case release
}

/// What a `release` job changes, stored with the job.
public struct ReleaseChange: Codable, Sendable, Equatable {
    /// Restore the image and environment of this release; nil keeps the current image and
    /// uses the app's current configuration.
    public var rollbackTo: Int?
    /// Shown in `mini releases`, such as `env set FOO` or `scale to 3`.
    public var description: String
    /// A rollback's: the app's configured environment when it was asked for. The rollback
    /// restores the old release's environment, keeping the changes made since (an `env set`
    /// while it waited or ran), which their own release job then applies.
    public var environmentAtRequest: [String: String]?

    public init(rollbackTo: Int? = nil, description: String, environmentAtRequest: [String: String]? = nil) {
        self.rollbackTo = rollbackTo
        self.description = description
        self.environmentAtRequest = environmentAtRequest
    }

    /// A restart: new instances of the current release, asked for as such.
    public static let restart = ReleaseChange(description: "restart")

    /// A change of the app's settings (env, scale, limits): neither a rollback nor a restart.
    public var isSettingsChange: Bool { rollbackTo == nil && self != .restart }
}

/// A build job as the API shows it.
public struct JobInfo: Codable, Sendable, Equatable {
    public var id: JobID
    public var app: AppName
    public var kind: JobKind
    public var state: JobState
    /// Which try this is, from 1.
    public var attempt: Int
    public var maxAttempts: Int
    /// The release this job created, once it succeeded.
    public var release: Int?
    /// For a rollback: the release it goes back to.
    public var rollbackTo: Int?
    /// For a release job: what it changes (`env set FOO`, `scale to 3`, `restart`,
    /// `rollback to v2`); nil for a deploy, or from a server that does not say.
    public var change: String?
    /// Why the job ended, such as `build failed` or `superseded`.
    public var reason: String?
    /// The error, for a failed job.
    public var error: String?
    /// The upload's size in bytes.
    public var uploadBytes: Int64
    /// For a deploy: the Dockerfile it builds with, relative to the context, when not
    /// `Dockerfile` (``DockerfilePath``).
    public var dockerfile: String?
    /// The name of the API token that queued it (`admin`, `ci`...); nil from a server that
    /// does not record it.
    public var requestedBy: String?
    public var queuedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(
        id: JobID, app: AppName, kind: JobKind = .deploy, state: JobState, attempt: Int, maxAttempts: Int,
        release: Int?, rollbackTo: Int? = nil, change: String? = nil, reason: String?, error: String?,
        uploadBytes: Int64,
        dockerfile: String? = nil, requestedBy: String? = nil, queuedAt: Date, startedAt: Date?, finishedAt: Date?
    ) {
        self.id = id
        self.app = app
        self.kind = kind
        self.state = state
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.release = release
        self.rollbackTo = rollbackTo
        self.change = change
        self.reason = reason
        self.error = error
        self.uploadBytes = uploadBytes
        self.dockerfile = dockerfile
        self.requestedBy = requestedBy
        self.queuedAt = queuedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// The answer to `POST /v1/apps/{app}/deploys`.
public struct DeployAccepted: Codable, Sendable, Equatable {
    public var job: JobInfo
    /// Where to poll the job: `/v1/jobs/{id}`.
    public var statusURL: String
    /// Where to read its build log: `/v1/jobs/{id}/log`.
    public var logURL: String
    /// Where the app is served once the deploy succeeds; nil from a server that does not say.
    public var url: String?
    /// Things in the build context worth a look that did not refuse it, such as a symlink
    /// pointing outside it (the engine confines those); nil when there are none.
    public var notes: [String]?

    public init(job: JobInfo, url: String?, notes: [String] = []) {
        self.job = job
        self.statusURL = "/v1/jobs/\(job.id)"
        self.logURL = "/v1/jobs/\(job.id)/log"
        self.url = url
        self.notes = notes.isEmpty ? nil : notes
    }
}

/// `GET /v1/jobs` answer.
public struct JobList: Codable, Sendable, Equatable {
    public var jobs: [JobInfo]
    public init(jobs: [JobInfo]) { self.jobs = jobs }
}
