import ArgumentParser
import Foundation
import MiniCore

/// How jobs look on a terminal.
enum JobDisplay {
    /// The fields of one job, one per line.
    static func details(_ job: JobInfo) -> String {
        var lines = [
            ("job", "\(job.id)"),
            ("app", job.app.rawValue),
            ("kind", kind(of: job)),
            ("state", job.state.rawValue),
            ("attempt", "\(job.attempt)/\(job.maxAttempts)"),
            ("release", job.release.map { "v\($0)" } ?? "-"),
        ]
        if job.kind == .deploy { lines.append(("upload", "\(job.uploadBytes) bytes")) }
        if let requestedBy = job.requestedBy { lines.append(("by", requestedBy)) }
        lines += [
            ("queued", timestamp(job.queuedAt)),
            ("started", job.startedAt.map(timestamp) ?? "-"),
            ("finished", job.finishedAt.map(timestamp) ?? "-"),
        ]
        if let started = job.startedAt, let finished = job.finishedAt {
            lines.append(("took", String(format: "%.1f s", finished.timeIntervalSince(started))))
        }
        if let reason = job.reason { lines.append(("reason", reason)) }
        if let error = job.error { lines.append(("error", error)) }
        return lines.map { $0.0.padding(toLength: 9, withPad: " ", startingAt: 0) + $0.1 }.joined(
            separator: "\n")
    }

    /// What the job does: a deploy builds an upload; a release job releases an image again
    /// with changed settings (`release: env set FOO`, `release: restart`) or rolls back.
    static func kind(of job: JobInfo) -> String {
        switch job.kind {
        case .deploy: "deploy"
        case .release: job.rollbackTo.map { "rollback to v\($0)" } ?? job.change.map { "release: \($0)" } ?? "release"
        }
    }

    /// A table with one job per row.
    static func table(_ jobs: [JobInfo]) -> String {
        let header = ["ID", "APP", "KIND", "STATE", "ATTEMPT", "RELEASE", "QUEUED", "BY", "REASON"]
        let rows = jobs.map { job in
            [
                "\(job.id)", job.app.rawValue, kind(of: job), job.state.rawValue, "\(job.attempt)/\(job.maxAttempts)",
                job.release.map { "v\($0)" } ?? "-", timestamp(job.queuedAt), job.requestedBy ?? "-",
                job.reason ?? job.error ?? "",
            ]
        }
        return TextTable.render(header: header, rows: rows)
    }

    /// The wire format of mini, for `--json`.
    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder.mini.encode(value), as: UTF8.self)
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

/// Job ids given as command-line arguments.
enum JobArgument {
    /// A job id: a positive integer, else a usage error (the server would answer 400).
    static func parse(_ text: String) throws -> JobID {
        guard let id = JobID(text), id > 0 else {
            throw ValidationError("job ids are positive integers; list jobs with mini jobs")
        }
        return id
    }
}
