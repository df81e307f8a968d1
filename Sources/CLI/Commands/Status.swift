import ArgumentParser
import MiniCore

extension Mini {
    /// `mini status <job> [--json] [--wait]`
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job: state, app, attempt, release, reason, error, timings.",
            discussion: "With --wait, the exit code is 0 only when the job succeeded."
        )

        @Argument(help: "The job id.", transform: JobArgument.parse)
        var job: JobID

        @Flag(help: "Print the job as JSON.")
        var json = false

        @Flag(help: "Wait until the job has ended (succeeded, failed or cancelled).")
        var wait = false

        @OptionGroup var api: APIOptions

        func run() async throws {
            let client = try api.client()
            let info: JobInfo =
                wait
                ? try await InterruptNotice.whileFollowing(job: job) { try await client.waitForJob(job) }
                : try await client.get("/v1/jobs/\(job)")
            Terminal.output(json ? try JobDisplay.json(info) : JobDisplay.details(info))
            if wait, info.state != .succeeded { throw ExitCode(CLIFailure.ExitStatus.failed.rawValue) }
        }
    }
}

extension APIClient {
    /// Follows a job's build log to `line` until the job ends, then returns the ended job.
    /// Ctrl-C meanwhile says that the job goes on.
    func follow(_ job: JobInfo, line: (String) -> Void) async throws -> JobInfo {
        try await InterruptNotice.whileFollowing(job: job.id) {
            try await streamLog(of: job.id, line: line)
            return try await waitForJob(job.id)
        }
    }

    /// Prints a job's build log to `line` as it grows, until the job ends. Ctrl-C meanwhile
    /// says that the job goes on.
    func followLog(of job: JobID, line: (String) -> Void) async throws {
        try await InterruptNotice.whileFollowing(job: job) { try await streamLog(of: job, line: line) }
    }

    /// Streams a job's growing build log. It stays empty while the job waits for a worker:
    /// that is said once, after a while.
    private func streamLog(of job: JobID, line: (String) -> Void) async throws {
        let queuedNote = Task { [self] in
            try await Task.sleep(for: Self.queuedNoteAfter)
            try await noteIfQueued(job)
        }
        defer { queuedNote.cancel() }
        try await streamLines("/v1/jobs/\(job)/log", query: ["follow": "1"], line: line)
    }

    /// Reports a settings change (env, scale, limits, rollback, restart): follows its release
    /// job to its end, unless `output` says to return at once. No job means the app has no
    /// release yet, so the change waits for its first deploy, or, with `changed` false, that
    /// the app already was as asked. `rollbackCarriesIt` says whether a rollback that replaced
    /// the job makes the change too: it runs the app's scale and limits on fresh instances,
    /// but restores its release's env.
    func finishRelease(
        _ accepted: ChangeAccepted, app: AppName, doing change: String, rollbackCarriesIt: Bool = true,
        output: ReleaseOutputOptions
    ) async throws {
        // stdout carries only the job id or the JSON when a script asks for them.
        let say = output.json || output.returnAtOnce ? Terminal.error : Terminal.output
        let changed = accepted.changed ?? true
        let printJSON = { (job: JobInfo?) in
            if output.json { Terminal.output(try JobDisplay.json(ChangeOutcome(job: job, changed: changed))) }
        }
        guard changed else {
            say("\(change): \(app) already is so; no new release")
            return try printJSON(accepted.job)
        }
        guard let job = accepted.job else {
            say("saved; \(app) has no release yet, so the \(change) applies at its first deploy")
            return try printJSON(nil)
        }
        if output.returnAtOnce {
            say("job \(job.id) queued: the \(change) of \(app)")
            return output.json ? try printJSON(job) : Terminal.output("\(job.id)")
        }
        var ended = try await follow(job, line: say)
        // Replaced by a newer job of the app while queued: a deploy or settings change reads
        // the app's settings when it runs, so it carries this settings change too, and so does
        // a rollback unless the change is of the env (nothing carries a rollback).
        while ended.reason == "superseded", ended.rollbackTo == nil, let newer = try await successor(of: ended),
            newer.rollbackTo == nil || rollbackCarriesIt
        {
            say("job \(ended.id) was replaced by job \(newer.id), which makes the \(change) too; following it")
            ended = try await follow(newer, line: say)
        }
        try printJSON(ended)
        guard ended.state == .succeeded else {
            throw CLIFailure(
                "\(change) of \(app) \(ended.state.rawValue): \(ended.error ?? ended.reason ?? "no reason given")")
        }
        say("\(app) is now at v\(ended.release ?? 0)")
    }

    /// The job of the same app that replaced `job`: the oldest newer one (of `kind`, if given)
    /// not itself replaced.
    func successor(of job: JobInfo, kind: JobKind? = nil) async throws -> JobInfo? {
        let list: JobList = try await get("/v1/jobs", query: ["app": job.app.rawValue, "limit": "100"])
        return list.jobs.filter { $0.id > job.id && $0.reason != "superseded" && (kind == nil || $0.kind == kind) }
            .min { $0.id < $1.id }
    }

    /// How often a job is polled while waiting for it to end.
    static let pollInterval = Duration.milliseconds(500)

    /// How long a followed job may wait in the queue before mini says what it waits for.
    static let queuedNoteAfter = Duration.seconds(10)

    /// Polls the job until it is final; says once what it waits for if it stays queued.
    func waitForJob(_ id: JobID) async throws -> JobInfo {
        let noteAt = ContinuousClock.now.advanced(by: Self.queuedNoteAfter)
        var noted = false
        while true {
            let job: JobInfo = try await get("/v1/jobs/\(id)")
            if job.state.isFinal { return job }
            if job.state == .queued, !noted, ContinuousClock.now >= noteAt {
                noted = true
                Self.noteQueued(job)
            }
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    private func noteIfQueued(_ id: JobID) async throws {
        let job: JobInfo = try await get("/v1/jobs/\(id)")
        if job.state == .queued { Self.noteQueued(job) }
    }

    private static func noteQueued(_ job: JobInfo) {
        Terminal.error(
            "note: job \(job.id) is still queued: a job of \(job.app) runs before it, every worker is busy, "
                + "or no worker runs (mini jobs --state running shows what the workers do)")
    }
}

/// How a command that makes a release reports it.
struct ReleaseOutputOptions: ParsableArguments {
    @Flag(
        name: .customLong("async"),
        help: "Print the release job's id (nothing when no release is made) and return without waiting for it.")
    var returnAtOnce = false

    @Flag(help: "Print {\"job\", \"changed\"} as JSON on stdout: the job as queued with --async, final otherwise.")
    var json = false
}

/// What `--json` prints for a settings change: always both keys, `job` null when no release
/// is made.
struct ChangeOutcome: Encodable {
    var job: JobInfo?
    var changed: Bool

    private enum CodingKeys: String, CodingKey { case job, changed }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(job, forKey: .job)
        try container.encode(changed, forKey: .changed)
    }
}
