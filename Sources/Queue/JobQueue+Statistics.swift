import GRDB
import MiniCore

extension JobQueue {
    /// Numbers about the queue, for `/metrics`.
    public struct Statistics: Sendable {
        /// Jobs per state.
        public var jobs: [JobState: Int]
        /// Queued jobs whose time has come.
        public var ready: Int
        /// Seconds from start to end of the kept ended jobs.
        public var durations: [Double]
        /// Seconds from queued to started of the kept started jobs.
        public var waits: [Double]
    }

    public func statistics() async throws -> Statistics {
        try await database.read { db in
            var jobs = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS count FROM jobs GROUP BY state") {
                if let state = JobState(rawValue: row["state"]) { jobs[state] = row["count"] }
            }
            let ready =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND run_at <= ?", arguments: [Self.now()]
                ) ?? 0
            let durations = try Double.fetchAll(
                db,
                sql:
                    "SELECT finished_at - started_at FROM jobs WHERE finished_at IS NOT NULL AND started_at IS NOT NULL"
            )
            let waits = try Double.fetchAll(
                db, sql: "SELECT started_at - queued_at FROM jobs WHERE started_at IS NOT NULL"
            )
            return Statistics(jobs: jobs, ready: ready, durations: durations, waits: waits)
        }
    }
}
