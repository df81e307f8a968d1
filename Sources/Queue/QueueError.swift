import MiniCore

/// An error of the job queue.
public struct QueueError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case leaseLost(JobID)
        case jobNotFound(JobID)
        case jobFinished(JobID, JobState)
        case jobReleased(JobID, app: String, release: Int)
    }

    private let code: Code

    /// The worker no longer holds the job: it expired, was cancelled or was claimed again.
    /// The holder must stop working on the job and write nothing more.
    public static func leaseLost(_ job: JobID) -> QueueError { QueueError(code: .leaseLost(job)) }
    /// No job has this id.
    public static func jobNotFound(_ job: JobID) -> QueueError {
        QueueError(code: .jobNotFound(job))
    }
    /// The job already ended and cannot change.
    public static func jobFinished(_ job: JobID, _ state: JobState) -> QueueError {
        QueueError(code: .jobFinished(job, state))
    }

    /// The job published its release and is finishing: too late to cancel.
    public static func jobReleased(_ job: JobID, app: String, release: Int) -> QueueError {
        QueueError(code: .jobReleased(job, app: app, release: release))
    }

    public var isLeaseLost: Bool {
        if case .leaseLost = code { return true }
        return false
    }

    public var isNotFound: Bool {
        if case .jobNotFound = code { return true }
        return false
    }

    public var description: String {
        switch code {
        case .leaseLost(let job):
            "the lease on job \(job) was lost (expired, cancelled or claimed by another worker)"
        case .jobNotFound(let job):
            "no job \(job); list jobs with `mini jobs`"
        case .jobFinished(let job, let state):
            "job \(job) already ended (\(state.rawValue))"
        case .jobReleased(let job, let app, let release):
            "job \(job) already released v\(release) of \(app), which serves now; to undo it, run "
                + "`mini rollback \(app)`"
        }
    }
}
