import Foundation
import GRDB
import MiniCore

/// A row of the `jobs` table. Times are seconds since 1970.
///
/// Decoded by position in ``init(row:)``, from statements that select ``columns`` in that
/// order, rather than through `Codable` or by column name: every claim decodes one, and
/// `Codable` with snake-case key conversion took about 8% of a claim+complete in the
/// profile, the case-insensitive lookup of each column name another 3%.
struct JobRecord: FetchableRecord, Sendable {
    var id: Int64
    var app: String
    var state: String
    var attempt: Int
    var maxAttempts: Int
    var runAt: Double
    var leaseOwner: String?
    var leaseToken: String?
    var leaseExpiresAt: Double?
    var heartbeatAt: Double?
    var leaseExpiries: Int
    var queuedAt: Double
    var startedAt: Double?
    var finishedAt: Double?
    var error: String?
    var reason: String?
    var uploadPath: String?
    var uploadBytes: Int64
    var release: Int?
    var kind: String
    var payload: String?
    /// When a cancel was asked for while the job ran; it ends once its worker stopped.
    var cancelRequestedAt: Double?
    /// Why, when not a user's `mini cancel` (the app was destroyed): the job's reason once it ends.
    var cancelReason: String?
    /// A deploy's Dockerfile, relative to the context, when not `Dockerfile`.
    var dockerfile: String?
    /// The name of the API token that queued it.
    var requestedBy: String?

    /// The columns ``init(row:)`` reads, in its order: select these, never `*`.
    static let columns = """
        id, app, state, attempt, max_attempts, run_at, lease_owner, lease_token, lease_expires_at, \
        heartbeat_at, lease_expiries, queued_at, started_at, finished_at, error, reason, upload_path, \
        upload_bytes, release, kind, payload, cancel_requested_at, cancel_reason, dockerfile, requested_by
        """

    /// How the job ends whatever its worker reports, once that is decided (see ``DecidedEnd``).
    var decidedEnd: DecidedEnd? {
        DecidedEnd(cancelReason: cancelRequestedAt.map { _ in cancelReason }, publishedRelease: release)
    }

    /// The change a `release` job makes.
    var releaseChange: ReleaseChange? {
        payload.flatMap { try? JSONDecoder().decode(ReleaseChange.self, from: Data($0.utf8)) }
    }

    init(row: Row) throws {
        id = try row.decode(atIndex: 0)
        app = try row.decode(atIndex: 1)
        state = try row.decode(atIndex: 2)
        attempt = try row.decode(atIndex: 3)
        maxAttempts = try row.decode(atIndex: 4)
        runAt = try row.decode(atIndex: 5)
        leaseOwner = try row.decode(atIndex: 6)
        leaseToken = try row.decode(atIndex: 7)
        leaseExpiresAt = try row.decode(atIndex: 8)
        heartbeatAt = try row.decode(atIndex: 9)
        leaseExpiries = try row.decode(atIndex: 10)
        queuedAt = try row.decode(atIndex: 11)
        startedAt = try row.decode(atIndex: 12)
        finishedAt = try row.decode(atIndex: 13)
        error = try row.decode(atIndex: 14)
        reason = try row.decode(atIndex: 15)
        uploadPath = try row.decode(atIndex: 16)
        uploadBytes = try row.decode(atIndex: 17)
        release = try row.decode(atIndex: 18)
        kind = try row.decode(atIndex: 19)
        payload = try row.decode(atIndex: 20)
        cancelRequestedAt = try row.decode(atIndex: 21)
        cancelReason = try row.decode(atIndex: 22)
        dockerfile = try row.decode(atIndex: 23)
        requestedBy = try row.decode(atIndex: 24)
    }

    /// The job as the API shows it.
    func info() throws -> JobInfo {
        JobInfo(
            id: id,
            app: try AppName(app),
            kind: JobKind(rawValue: kind) ?? .deploy,
            state: JobState(rawValue: state) ?? .failed,
            attempt: attempt,
            maxAttempts: maxAttempts,
            release: release,
            rollbackTo: releaseChange?.rollbackTo,
            change: releaseChange?.description,
            reason: reason,
            error: error,
            uploadBytes: uploadBytes,
            dockerfile: dockerfile,
            requestedBy: requestedBy,
            queuedAt: Date(timeIntervalSince1970: queuedAt),
            startedAt: startedAt.map(Date.init(timeIntervalSince1970:)),
            finishedAt: finishedAt.map(Date.init(timeIntervalSince1970:))
        )
    }
}
