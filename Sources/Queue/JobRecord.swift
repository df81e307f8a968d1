import Foundation
import GRDB
import MiniCore

/// A row of the `jobs` table. Times are seconds since 1970.
///
/// Decoded by column name in ``init(row:)`` rather than through `Codable`: every claim
/// decodes one, and `Codable` with snake-case key conversion took about 8% of a
/// claim+complete in the profile.
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

    /// The change a `release` job makes.
    var releaseChange: ReleaseChange? {
        payload.flatMap { try? JSONDecoder().decode(ReleaseChange.self, from: Data($0.utf8)) }
    }

    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        app = try row.decode(forColumn: "app")
        state = try row.decode(forColumn: "state")
        attempt = try row.decode(forColumn: "attempt")
        maxAttempts = try row.decode(forColumn: "max_attempts")
        runAt = try row.decode(forColumn: "run_at")
        leaseOwner = try row.decode(forColumn: "lease_owner")
        leaseToken = try row.decode(forColumn: "lease_token")
        leaseExpiresAt = try row.decode(forColumn: "lease_expires_at")
        heartbeatAt = try row.decode(forColumn: "heartbeat_at")
        leaseExpiries = try row.decode(forColumn: "lease_expiries")
        queuedAt = try row.decode(forColumn: "queued_at")
        startedAt = try row.decode(forColumn: "started_at")
        finishedAt = try row.decode(forColumn: "finished_at")
        error = try row.decode(forColumn: "error")
        reason = try row.decode(forColumn: "reason")
        uploadPath = try row.decode(forColumn: "upload_path")
        uploadBytes = try row.decode(forColumn: "upload_bytes")
        release = try row.decode(forColumn: "release")
        kind = try row.decode(forColumn: "kind")
        payload = try row.decode(forColumn: "payload")
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
            reason: reason,
            error: error,
            uploadBytes: uploadBytes,
            queuedAt: Date(timeIntervalSince1970: queuedAt),
            startedAt: startedAt.map(Date.init(timeIntervalSince1970:)),
            finishedAt: finishedAt.map(Date.init(timeIntervalSince1970:))
        )
    }
}
