import Foundation
import GRDB
import MiniCore

/// A row of the `jobs` table. Times are seconds since 1970.
struct JobRecord: Codable, FetchableRecord, Sendable {
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

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
