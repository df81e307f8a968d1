import GRDB
import MiniCore
import Store

extension JobQueue {
    /// Numbers about the queue, for `/metrics`.
    public struct Statistics: Sendable {
        /// Jobs per state.
        public var jobs: [JobState: Int]
        /// Queued jobs whose time has come.
        public var ready: Int
        /// The job-time histograms, as counted since the database was made.
        public var times: [JobTimeMetric: JobTimeHistogram]
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
            var times: [JobTimeMetric: JobTimeHistogram] = [:]
            for metric in JobTimeMetric.allCases { times[metric] = try JobTimeHistogram.fetch(metric, in: db) }
            return Statistics(jobs: jobs, ready: ready, times: times)
        }
    }
}
