import GRDB

/// The job-time histograms of `/metrics`. The database keeps them (migration v13): triggers
/// count each job's times into buckets as the job starts and ends, so a histogram only grows,
/// as Prometheus expects, also when retention or a destroy removes the jobs it counted.
public enum JobTimeMetric: String, CaseIterable, Sendable {
    /// From a job's start to its end, for jobs that started.
    case duration
    /// From a job's queueing to its first start.
    case wait

    /// Bucket upper bounds in seconds, ascending. The migration made a row for each: a
    /// change needs a migration of its own.
    public var buckets: [Double] {
        switch self {
        case .duration: [1, 2, 5, 10, 30, 60, 120, 300, 600, 900]
        case .wait: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300]
        }
    }

    /// The SQL of the observed value, over a job row (`NEW` in a trigger, `jobs` in a query):
    /// at least 0, as the times come from the wall clocks of several processes (or machines),
    /// and a clock stepped back must not make the histogram's sum fall.
    func value(of row: String) -> String {
        switch self {
        case .duration: "MAX(0, \(row).finished_at - \(row).started_at)"
        case .wait: "MAX(0, \(row).started_at - \(row).queued_at)"
        }
    }

    /// The SQL condition under which a job row has the value.
    func isObservable(_ row: String) -> String {
        switch self {
        case .duration: "\(row).finished_at IS NOT NULL AND \(row).started_at IS NOT NULL"
        case .wait: "\(row).started_at IS NOT NULL"
        }
    }

    /// The column whose first setting makes the observation: the end of a started job; the
    /// first start (a retried job's later starts are no waits from its queueing).
    var observedColumn: String {
        switch self {
        case .duration: "finished_at"
        case .wait: "started_at"
        }
    }
}

/// A histogram's counts as the database keeps them.
public struct JobTimeHistogram: Sendable, Equatable {
    /// Observations at or below each of the metric's bucket bounds, in their order.
    public var cumulativeCounts: [Int]
    /// All observations.
    public var count: Int
    /// The sum of all observations, in seconds.
    public var sum: Double
}

extension JobTimeHistogram {
    /// The counts of `metric` as the database has them now.
    public static func fetch(_ metric: JobTimeMetric, in db: Database) throws -> JobTimeHistogram {
        let totals = try Row.fetchOne(
            db, sql: "SELECT count, sum FROM job_time_totals WHERE metric = ?", arguments: [metric.rawValue])
        return JobTimeHistogram(
            cumulativeCounts: try Int.fetchAll(
                db, sql: "SELECT count FROM job_time_buckets WHERE metric = ? ORDER BY le", arguments: [metric.rawValue]
            ),
            count: totals?["count"] ?? 0, sum: totals?["sum"] ?? 0)
    }
}
