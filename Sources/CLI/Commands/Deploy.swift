import Archive
import ArgumentParser
import AsyncHTTPClient
import Foundation
import MiniCore

extension Mini {
    /// `mini deploy [PATH] [--app NAME] [--async] [--json]`
    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build and run a folder that holds a Dockerfile.",
            discussion: """
                The folder is sent as a gzip'd tar, minus what its .dockerignore excludes (Docker's rules). \
                Without --async, the build log is printed as it happens, then the app's URL; the exit code \
                is 0 only when the deploy succeeded. The first deploy of a name creates the app.

                With --json, stdout gets one object: {"job": {...}, "statusURL", "logURL", "url"}, the job \
                as queued with --async, in its final state otherwise; url is where the app is served.

                Examples:
                  mini deploy                          the current folder, as the app named after it
                  mini deploy ./web --app shop         follow the build, exit 0 once v(N) serves
                  JOB=$(mini deploy --async --app preview-42)
                  mini status "$JOB" --wait            in CI: queue now, wait later
                """
        )

        @Argument(help: "The folder to deploy.", completion: .directory)
        var path = "."

        @Option(help: "The app's name (default: the folder's name, made a valid name).", transform: AppName.argument)
        var app: AppName?

        @Option(
            help: ArgumentHelp(
                "The Dockerfile to build with, relative to the folder (default: Dockerfile, else dockerfile).",
                valueName: "path"))
        var dockerfile: String?

        @Flag(
            name: .customLong("async"),
            help: "Print only the job id and return once the upload is accepted.")
        var returnAtOnce = false

        @Flag(help: "Print JSON on stdout (the build log goes to stderr).")
        var json = false

        @OptionGroup var api: APIOptions

        func validate() throws {
            _ = try appName()
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory),
                isDirectory.boolValue
            else {
                throw ValidationError("\(folder) is not a folder")
            }
            if let askedDockerfile, let problem = DockerfilePath.problem(with: askedDockerfile) {
                throw ValidationError(problem)
            }
            guard let path = dockerfilePath, FileManager.default.fileExists(atPath: folder + "/" + path) else {
                throw ValidationError(
                    dockerfile.map {
                        "there is no \($0) in \(folder): give the Dockerfile's path relative to the folder"
                    }
                        ?? "there is no Dockerfile in \(folder): mini deploys folders that have one (or give --dockerfile)"
                )
            }
        }

        /// The Dockerfile asked for, without `.` parts (`./Dockerfile.prod`, as `docker build -f`
        /// takes it).
        private var askedDockerfile: String? {
            dockerfile.map {
                $0.split(separator: "/", omittingEmptySubsequences: false).filter { $0 != "." }.joined(separator: "/")
            }
        }

        /// The Dockerfile the deploy builds with: the one asked for, else `Dockerfile`, else
        /// `dockerfile` (as `docker build` falls back to it), by exact name (a disk that ignores
        /// case finds either under both names).
        private var dockerfilePath: String? {
            if let askedDockerfile { return askedDockerfile }
            let names = Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            return [DockerfilePath.standard, "dockerfile"].first { names.contains($0) }
        }

        func run() async throws {
            let name = try appName()
            if app == nil, name.rawValue != URL(fileURLWithPath: folder).lastPathComponent {
                Terminal.error(
                    "note: deploying as \(name), the folder's name made an app name; --app NAME chooses another")
            }
            let context: BuildContext
            do {
                context = try BuildContext(scanning: folder, dockerfile: dockerfilePath ?? DockerfilePath.standard)
            } catch let error as ArchiveError {
                throw CLIFailure(error.message)
            }
            for note in context.notes { Terminal.error("note: \(note)") }
            guard context.hasDockerfile else {
                throw ValidationError(
                    "\(context.dockerfile) in \(folder) is no file the build context holds (a folder, or inside a "
                        + "linked folder): give the Dockerfile's path relative to the folder")
            }

            let client = try api.client()
            let progress = UploadProgress()
            let accepted: DeployAccepted
            do {
                accepted = try await client.post(
                    "/v1/apps/\(name)/deploys",
                    query: ["dockerfile": context.dockerfile == DockerfilePath.standard ? nil : context.dockerfile],
                    body: .stream(TarStream(context, progress: progress.update), length: .unknown),
                    contentType: "application/gzip"
                )
                progress.finish(uploaded: true)
            } catch {
                progress.finish(uploaded: false)
                throw error
            }
            let id = accepted.job.id
            if context.dockerfile != DockerfilePath.standard, accepted.job.dockerfile != context.dockerfile {
                // A minid from before --dockerfile ignores it: it would build the root's Dockerfile.
                _ = try? await client.post("/v1/jobs/\(id)/cancel") as JobInfo
                throw CLIFailure(
                    "this minid builds with Dockerfile only (it is older than this mini), so job \(id) was cancelled: "
                        + "upgrade minid, or name the file Dockerfile")
            }
            if returnAtOnce {
                Terminal.error("job \(id) queued: a deploy of \(name)")
                Terminal.output(json ? try JobDisplay.json(accepted) : "\(id)")
                return
            }

            Terminal.error("job \(id) queued: a deploy of \(name); following its build log")
            let job = try await client.follow(accepted.job, line: json ? Terminal.error : Terminal.output)
            // The same shape as with --async, the job in its final state.
            if json {
                Terminal.output(
                    try JobDisplay.json(DeployAccepted(job: job, url: accepted.url, notes: accepted.notes ?? [])))
            }
            guard job.state == .succeeded else {
                // A newer deploy of the app replaced this one while it waited: name it.
                if job.reason == "superseded", let newer = try? await client.successor(of: job, kind: .deploy) {
                    throw CLIFailure(
                        "deploy of \(name) cancelled: superseded by job \(newer.id), a newer deploy of \(name): "
                            + "mini logs --build \(newer.id) -f to follow it")
                }
                throw CLIFailure(
                    "deploy of \(name) \(job.state.rawValue): \(job.error ?? job.reason ?? "no reason given")")
            }
            let info: AppInfo = try await client.get("/v1/apps/\(name)")
            if !json {
                Terminal.output("deployed \(name) v\(job.release ?? info.release ?? 0) at \(info.url)")
                if info.maintenance == true {
                    Terminal.error(
                        "\(name) is in maintenance mode: its requests get the maintenance answer until "
                            + "mini maintenance off \(name)")
                }
            }
        }

        /// The folder, absolute and without `.` or `..`.
        private var folder: String {
            URL(
                fileURLWithPath: path,
                relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            )
            .standardizedFileURL.path
        }

        /// `--app`, validated, or the folder's name made valid.
        private func appName() throws -> AppName {
            if let app { return app }
            let folderName = URL(fileURLWithPath: folder).lastPathComponent
            // Letters outside ASCII would be dropped (p2-日本 would deploy as p2, over that app).
            guard folderName.unicodeScalars.allSatisfy(\.isASCII), let name = AppName(sanitizing: folderName) else {
                throw ValidationError(
                    "cannot make an app name out of the folder name '\(folderName)': pass --app NAME")
            }
            return name
        }
    }
}
