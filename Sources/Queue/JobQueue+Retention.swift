import Foundation
import GRDB
import MiniCore
import Store

extension JobQueue {
    /// What a retention pass removed.
    public struct PruneResult: Sendable, Equatable {
        public var uploadsDeleted = 0
        public var jobsDeleted = 0
    }

    /// Deletes the uploads of ended jobs, then every ended job beyond the newest `keep` per
    /// app, with its build log. Files go before rows, so a crash leaves no row pointing at
    /// nothing that matters.
    @discardableResult
    public func prune(keepPerApp keep: Int, logPath: (JobID) -> String) async throws -> PruneResult {
        var result = PruneResult()
        let endedUploads = try await database.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT id, upload_path FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND upload_path IS NOT NULL"
            ).map { (id: $0["id"] as JobID, path: $0["upload_path"] as String) }
        }
        for upload in endedUploads {
            try? FileManager.default.removeItem(atPath: upload.path)
            result.uploadsDeleted += 1
        }
        if !endedUploads.isEmpty {
            let ids = endedUploads.map(\.id)
            try await database.write { db in
                try db.execute(
                    sql:
                        "UPDATE jobs SET upload_path = NULL WHERE id IN (\(ids.map(String.init).joined(separator: ",")))"
                )
            }
        }
        let old = try await database.read { db in
            try JobID.fetchAll(
                db,
                sql: """
                    SELECT id FROM (
                        SELECT id, state, ROW_NUMBER() OVER (PARTITION BY app ORDER BY id DESC) AS rank FROM jobs
                    ) WHERE rank > ? AND state IN ('succeeded', 'failed', 'cancelled')
                    """,
                arguments: [keep]
            )
        }
        for id in old {
            try? FileManager.default.removeItem(atPath: logPath(id))
        }
        if !old.isEmpty {
            try await database.write { db in
                try db.execute(sql: "DELETE FROM jobs WHERE id IN (\(old.map(String.init).joined(separator: ",")))")
            }
            result.jobsDeleted = old.count
        }
        return result
    }
}
