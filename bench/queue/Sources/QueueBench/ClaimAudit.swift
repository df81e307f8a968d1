import MiniCore

/// Checks the claim logs of a run against the jobs that were enqueued.
///
/// A job counts as double-claimed when it was completed more than once, completed under
/// a lease other than its newest, claimed again after it was completed, or claimed while an
/// earlier lease on it was still live (younger than the lease duration: the bench workers
/// never heartbeat). A job is lost when no worker completed it.
struct ClaimAudit: Sendable {
    /// Jobs held by two live leases or completed more than once.
    private(set) var doubleClaims: [JobID] = []
    /// Enqueued jobs that no worker completed.
    private(set) var lost: [JobID] = []
    /// Seconds from enqueue to claim, one per claim.
    private(set) var wakeUps: [Double] = []
    /// The last completion, in seconds since 1970.
    private(set) var lastCompletion: Double?

    /// Margin for timestamps that went through `Date` (which rounds in the last bits).
    private static let clockTolerance = 0.001

    init(records: [ClaimRecord], enqueued: some Sequence<JobID>, leaseDuration: Double) {
        var claims: [JobID: [(token: String, startedAt: Double)]] = [:]
        var completions: [JobID: [String]] = [:]
        for record in records {
            switch record {
            case .claim(let job, let token, _, let startedAt, let queuedAt):
                claims[job, default: []].append((token, startedAt))
                wakeUps.append(startedAt - queuedAt)
            case .complete(let job, let token, _, let at):
                completions[job, default: []].append(token)
                lastCompletion = max(lastCompletion ?? at, at)
            case .refused:
                break
            }
        }
        for (job, jobClaims) in claims {
            let completed = completions[job] ?? []
            let ordered = jobClaims.sorted { $0.startedAt < $1.startedAt }
            let overlapping = zip(ordered, ordered.dropFirst()).contains { earlier, later in
                completed.contains(earlier.token)
                    || later.startedAt < earlier.startedAt + leaseDuration - Self.clockTolerance
            }
            let completedByOlderLease = completed.contains { $0 != ordered.last?.token }
            if overlapping || completed.count > 1 || completedByOlderLease {
                doubleClaims.append(job)
            }
        }
        lost = enqueued.filter { (completions[$0] ?? []).isEmpty }
    }
}
