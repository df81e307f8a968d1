import API
import Docker
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MiniCore
import NIOCore
import NIOFoundationCompat
import NIOPosix
import Queue
import Store
import Testing

/// The API through Hummingbird's router test client, on a real SQLite file.
@Suite("HTTP API")
struct APITests {
    struct Fixture {
        let directory: DataDirectory
        let database: MiniDatabase
        let token: String
        let app: Application<RouterResponder<MiniRequestContext>>

        init(
            maxUploadBytes: Int64 = 1 << 30, maxContextBytes: Int64 = 8 << 30, maxContextEntries: Int = 1_000_000,
            destroyJobStopTimeout: Duration = .seconds(20), dockerSocket: String = "/var/run/docker.sock",
            minFreeDiskBytes: Int64 = 512 << 20
        ) async throws {
            directory = DataDirectory(
                FileManager.default.temporaryDirectory.appendingPathComponent("api-\(UUID().uuidString)").path)
            try directory.create()
            database = try MiniDatabase(path: directory.databasePath)
            token = try await TokenStore(database: database).create(name: "test")
            var configuration = APIConfiguration(dataDirectory: directory)
            configuration.maxUploadBytes = maxUploadBytes
            configuration.maxContextBytes = maxContextBytes
            configuration.maxContextEntries = maxContextEntries
            configuration.destroyJobStopTimeout = destroyJobStopTimeout
            configuration.minFreeDiskBytes = minFreeDiskBytes
            let router = makeAPIRouter(
                configuration: configuration, database: database, queue: JobQueue(database: database),
                docker: DockerClient(socketPath: dockerSocket, logger: Logger(label: "test"))
            )
            app = Application(router: router)
        }

        var auth: HTTPFields { [.authorization: "Bearer \(token)"] }

        func cleanup() { try? FileManager.default.removeItem(atPath: directory.root) }
    }

    @Test("every route but /healthz needs the right bearer token")
    func authentication() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/version", method: .get, headers: fixture.auth) { response in
                let info = try JSONDecoder.mini.decode(VersionInfo.self, from: Data(buffer: response.body))
                #expect(info.version == MiniVersion.current)
            }
            try await client.execute(uri: "/v1/version", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            for headers: HTTPFields in [
                [:], [.authorization: "Bearer wrong"], [.authorization: "Basic \(fixture.token)"],
            ] {
                try await client.execute(uri: "/v1/jobs", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                    #expect(body.error.code == "unauthorized")
                }
            }
            // Errors of the router's own come in the API's error body too.
            for (uri, method, status, code) in [
                ("/v1/nothing-here", HTTPRequest.Method.get, HTTPResponse.Status.notFound, "not_found"),
                ("/v1/apps/shop/env", .put, .methodNotAllowed, "method_not_allowed"),
            ] {
                try await client.execute(uri: uri, method: method, headers: fixture.auth) { response in
                    #expect(response.status == status, "\(uri)")
                    let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                    #expect(body.error.code == code, "\(uri)")
                }
            }
            // The scheme's name in any case (RFC 9110).
            for scheme in ["Bearer", "bearer", "BEARER"] {
                let headers: HTTPFields = [.authorization: "\(scheme) \(fixture.token)"]
                try await client.execute(uri: "/v1/jobs", method: .get, headers: headers) { response in
                    #expect(response.status == .ok, "\(scheme)")
                }
            }
        }
    }

    /// A tar.gz made by Python's tarfile from `(name, content)` entries; a content of
    /// `symlink:TARGET` makes a symlink.
    static func archive(_ entries: [(String, String)]) throws -> ByteBuffer {
        let script = """
            import io, json, sys, tarfile
            out = io.BytesIO()
            with tarfile.open(fileobj=out, mode="w:gz") as tar:
                for name, content in json.load(sys.stdin):
                    info = tarfile.TarInfo(name)
                    if content.startswith("symlink:"):
                        info.type = tarfile.SYMTYPE
                        info.linkname = content[len("symlink:"):]
                        tar.addfile(info)
                        continue
                    data = content.encode()
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            sys.stdout.buffer.write(out.getvalue())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        try input.fileHandleForWriting.write(
            contentsOf: JSONSerialization.data(withJSONObject: entries.map { [$0.0, $0.1] }))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ByteBuffer(bytes: data)
    }

    @Test(
        "bad build contexts get 400 and queue nothing",
        arguments: [
            ("garbage", ByteBuffer(bytes: Array(repeating: UInt8(7), count: 3000))),
            ("traversal", try! APITests.archive([("Dockerfile", "FROM scratch\n"), ("../../etc/evil", "x")])),
            ("absolute", try! APITests.archive([("Dockerfile", "FROM scratch\n"), ("/etc/evil", "x")])),
            ("no Dockerfile", try! APITests.archive([("app.txt", "hello")])),
        ]
    )
    func badContexts(label: String, body: ByteBuffer) async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/apps/app/deploys", method: .post, headers: fixture.auth, body: body) {
                response in
                #expect(response.status == .badRequest, "\(label)")
                let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.code == "invalid_archive", "\(label)")
            }
        }
        #expect(try await JobQueue(database: fixture.database).jobs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.uploadsPath).isEmpty)
    }

    @Test("a deploy is saved under uploads/<job>.tar.gz and queued")
    func deployQueuesJob() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let body = try Self.archive([
            ("Dockerfile", "FROM scratch\n"), ("big.txt", String(repeating: "x", count: 300_000)),
            ("passwd", "symlink:../../etc/passwd"),
        ])
        // Left by a transaction that moved its upload and then failed: the id is free again.
        try Data("stale".utf8).write(to: URL(fileURLWithPath: fixture.directory.uploadPath(job: 1)))
        // Left by an API that stopped mid-upload: gone once the API starts.
        let part = fixture.directory.uploadsPath + "/.upload-stale.part"
        try Data("partial".utf8).write(to: URL(fileURLWithPath: part))
        _ = makeAPIRouter(
            configuration: APIConfiguration(dataDirectory: fixture.directory), database: fixture.database,
            queue: JobQueue(database: fixture.database), docker: DockerClient(logger: Logger(label: "test"))
        )
        #expect(!FileManager.default.fileExists(atPath: part))
        try await fixture.app.test(.router) { client in
            let accepted = try await client.execute(
                uri: "/v1/apps/hello/deploys", method: .post, headers: fixture.auth, body: body
            ) { response in
                #expect(response.status == .accepted)
                return try JSONDecoder.mini.decode(DeployAccepted.self, from: Data(buffer: response.body))
            }
            #expect(accepted.job.state == .queued)
            #expect(accepted.job.id == 1)
            #expect(accepted.job.requestedBy == "test", "the name of the token that queued it")
            // Kept (the engine confines it), and said.
            #expect(accepted.notes == ["symlink passwd points outside the context to ../../etc/passwd"])
            #expect(accepted.job.uploadBytes == Int64(body.readableBytes))
            let saved = try Data(contentsOf: URL(fileURLWithPath: fixture.directory.uploadPath(job: accepted.job.id)))
            #expect(saved == Data(buffer: body))
            try await client.execute(uri: "/v1/jobs/\(accepted.job.id)", method: .get, headers: fixture.auth) {
                response in
                let job = try JSONDecoder.mini.decode(JobInfo.self, from: Data(buffer: response.body))
                #expect(job.id == accepted.job.id)
                #expect(job.app.rawValue == "hello")
                #expect(job.dockerfile == nil)
            }
            // Another Dockerfile, named by the deploy: it must be in the archive, inside it.
            for (query, status, says) in [
                ("dockerfile=Dockerfile.prod", HTTPResponse.Status.badRequest, "no Dockerfile.prod, the Dockerfile"),
                ("dockerfile=../Dockerfile", .badRequest, "must be relative to the folder"),
                ("dockerfile=/Dockerfile", .badRequest, "must be relative to the folder"),
                ("dockerfile=big.txt", .accepted, ""),
            ] {
                let job = try await client.execute(
                    uri: "/v1/apps/hello/deploys?\(query)", method: .post, headers: fixture.auth, body: body
                ) { response in
                    #expect(response.status == status, "\(query)")
                    #expect(
                        says.isEmpty || String(buffer: response.body).contains(says),
                        "\(query): \(String(buffer: response.body))")
                    return try? JSONDecoder.mini.decode(DeployAccepted.self, from: Data(buffer: response.body)).job
                }
                #expect(job.map { $0.dockerfile == "big.txt" } ?? (status != .accepted), "\(query)")
            }
        }
    }

    @Test(
        "destroying an app waits for its running job to stop: 409 while it does not; an engine that is down loses nothing"
    )
    func destroyWaitsForRunningJob() async throws {
        let fixture = try await Fixture(
            destroyJobStopTimeout: .milliseconds(600), dockerSocket: "/nonexistent/docker.sock")
        defer { fixture.cleanup() }
        let queue = JobQueue(database: fixture.database)
        let body = try Self.archive([("Dockerfile", "FROM scratch\n")])
        let destroy = "/v1/apps/doomed?confirm=doomed"
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/apps/doomed/deploys", method: .post, headers: fixture.auth, body: body) {
                response in
                #expect(response.status == .accepted)
            }
            let worker = try #require(try await queue.claim(as: WorkerIdentity(name: "stuck")))

            // Its worker never stops: 409, and the job, asked to stop, still holds the app.
            try await client.execute(uri: destroy, method: .delete, headers: fixture.auth) { response in
                #expect(response.status == .conflict)
                let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.message.contains("still stopping"), "\(error.error.message)")
            }
            #expect(try await !queue.holds(worker.lease), "the destroy asked the worker to stop")
            #expect(try await queue.job(worker.info.id).state == .running)

            // Its worker ends the job while the destroy waits: the destroy goes on to the engine,
            // which is down, so it answers 503 and deletes nothing.
            let workerEnds = Task {
                try await Task.sleep(for: .milliseconds(300))
                return try await queue.endIfDecided(worker.lease)
            }
            let started = ContinuousClock.now
            try await client.execute(uri: destroy, method: .delete, headers: fixture.auth) { response in
                #expect(response.status == .serviceUnavailable)
                let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.message.contains("Docker engine does not answer"), "\(error.error.message)")
            }
            #expect(ContinuousClock.now - started >= .milliseconds(300), "it waited for the job to end")
            #expect(try await workerEnds.value)
            #expect(try await queue.job(worker.info.id).state == .cancelled)
            try await client.execute(uri: "/v1/apps/doomed", method: .get, headers: fixture.auth) { response in
                #expect(response.status == .ok, "the app is still there")
            }
        }
    }

    @Test(
        "bad app names get 400 and change nothing",
        arguments: ["Hello", "-x", "a_b", String(repeating: "a", count: 41)])
    func badAppName(name: String) async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            try await client.execute(
                uri: "/v1/apps/\(name)/deploys", method: .post, headers: fixture.auth, body: ByteBuffer(string: "x")
            ) { response in
                #expect(response.status == .badRequest)
                let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error.code == "invalid_app_name")
            }
        }
        #expect(try await JobQueue(database: fixture.database).jobs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.uploadsPath).isEmpty)
    }

    @Test("an upload that would leave the disk nearly full gets 503, says so, and leaves no file")
    func diskNearlyFull() async throws {
        // More free space kept than any disk has.
        let fixture = try await Fixture(minFreeDiskBytes: 1 << 60)
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            try await client.execute(
                uri: "/v1/apps/full/deploys", method: .post, headers: fixture.auth,
                body: try Self.archive([("Dockerfile", "FROM scratch\n")])
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(
                    String(buffer: response.body).contains("disk is nearly full"), "\(String(buffer: response.body))")
            }
        }
        #expect(try await JobQueue(database: fixture.database).jobs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.uploadsPath).isEmpty)
    }

    @Test("an upload over the limit gets 413 and leaves no file")
    func uploadTooLarge() async throws {
        let fixture = try await Fixture(maxUploadBytes: 100_000)
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            try await client.execute(
                uri: "/v1/apps/big/deploys", method: .post, headers: fixture.auth,
                body: ByteBuffer(bytes: Array(repeating: UInt8(1), count: 200_000))
            ) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
        #expect(try await JobQueue(database: fixture.database).jobs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.uploadsPath).isEmpty)
    }

    @Test(
        "a build context that unpacks past a limit gets 413 naming it and leaves no job and no file",
        arguments: [
            (100_000, 1_000_000, "more than 100000 bytes", "minid --max-context)"),
            (1 << 30, 2, "more than 2 entries", "minid --max-context-entries)"),
        ]
    )
    func contextTooLarge(maxBytes: Int64, maxEntries: Int, limit: String, option: String) async throws {
        let fixture = try await Fixture(maxContextBytes: maxBytes, maxContextEntries: maxEntries)
        defer { fixture.cleanup() }
        // 300 kB of text: a few hundred bytes gzipped, far below the upload limit.
        let body = try Self.archive([
            ("Dockerfile", "FROM scratch\n"), ("a.txt", "a"), ("big.txt", String(repeating: "x", count: 300_000)),
        ])
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/apps/big/deploys", method: .post, headers: fixture.auth, body: body) {
                response in
                #expect(response.status == .contentTooLarge)
                let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(error.error.code == "payload_too_large")
                for text in [limit, ".dockerignore", option] {
                    #expect(error.error.message.contains(text), "\(error.error.message)")
                }
            }
        }
        #expect(try await JobQueue(database: fixture.database).jobs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.uploadsPath).isEmpty)
    }

    @Test("a method an API path does not take gets 405 with Allow, HEAD is GET's; a path that is no API call gets 404")
    func methodNotAllowed() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            for (method, path, allowed) in [
                (HTTPRequest.Method.delete, "/v1/apps", "GET, HEAD, POST"), (.put, "/v1/jobs/7", "GET, HEAD"),
                (.get, "/v1/apps/shop/rollback", "POST"), (.post, "/v1/apps/shop", "DELETE, GET, HEAD"),
            ] {
                try await client.execute(uri: path, method: method, headers: fixture.auth) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(response.headers[.allow] == allowed, "\(method) \(path)")
                    let error = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                    #expect(error.error.code == "method_not_allowed")
                }
            }
            // HEAD is GET without the body.
            for (path, headers, status) in [
                ("/healthz", HTTPFields(), HTTPResponse.Status.ok), ("/v1/apps", fixture.auth, .ok),
                ("/v1/apps", HTTPFields(), .unauthorized),
            ] {
                try await client.execute(uri: path, method: .head, headers: headers) { response in
                    #expect(response.status == status && response.body.readableBytes == 0, "HEAD \(path)")
                }
            }
            for path in ["/v1/nope", "/v1/apps/shop/nope", "/v2/apps"] {
                try await client.execute(uri: path, method: .get, headers: fixture.auth) { response in
                    #expect(response.status == .notFound, "\(path)")
                    #expect(response.headers[.allow] == nil)
                }
            }
        }
    }

    @Test("unknown jobs get 404, cancel of a queued job ends it")
    func jobsNotFoundAndCancel() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/jobs/999", method: .get, headers: fixture.auth) { response in
                #expect(response.status == .notFound)
            }
            let job = try await Self.queueDeploy(client, fixture)
            try await client.execute(uri: "/v1/jobs/\(job.id)/cancel", method: .post, headers: fixture.auth) {
                response in
                #expect(response.status == .ok)
                let cancelled = try JSONDecoder.mini.decode(JobInfo.self, from: Data(buffer: response.body))
                #expect(cancelled.state == .cancelled)
                #expect(cancelled.reason == "cancelled by user")
            }
            // Again: it is cancelled, as asked.
            try await client.execute(uri: "/v1/jobs/\(job.id)/cancel", method: .post, headers: fixture.auth) {
                response in
                #expect(response.status == .ok)
                let again = try JSONDecoder.mini.decode(JobInfo.self, from: Data(buffer: response.body))
                #expect(again.state == .cancelled && again.reason == "cancelled by user")
            }
            // Its log says how it ended: its worker, fenced off, could not.
            try await client.execute(uri: "/v1/jobs/\(job.id)/log", method: .get, headers: fixture.auth) { response in
                #expect(String(buffer: response.body).hasSuffix("-----> Cancelled (cancelled by user)\n"))
            }
        }
    }

    @Test("the log of a job failed because its workers kept dying says so at its end")
    func crashedWorkerLogEnds() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let queue = JobQueue(database: fixture.database)
        try await fixture.app.test(.router) { client in
            let job = try await Self.queueDeploy(client, fixture)
            let doomed = WorkerIdentity(name: "doomed")
            while try await queue.job(job.id).state == .queued {
                _ = try #require(try await queue.claim(as: doomed))
                try await queue.rescueLeases(of: doomed)
            }
            #expect(try await queue.job(job.id).state == .failed)
            try await client.execute(uri: "/v1/jobs/\(job.id)/log", method: .get, headers: fixture.auth) { response in
                #expect(
                    String(buffer: response.body)
                        == "-----> Failed: the workers holding the job kept stopping (killed, or gone with their machine)\n"
                )
            }
        }
    }

    @Test("an app can be created before its first deploy, once, under a valid name")
    func createApp() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            let body = ByteBuffer(string: #"{"name": "shop"}"#)
            try await client.execute(uri: "/v1/apps", method: .post, headers: fixture.auth, body: body) { response in
                #expect(response.status == .created)
                let info = try JSONDecoder.mini.decode(AppInfo.self, from: Data(buffer: response.body))
                #expect(info.name.rawValue == "shop" && info.release == nil)
            }
            try await client.execute(uri: "/v1/apps", method: .post, headers: fixture.auth, body: body) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(
                uri: "/v1/apps", method: .post, headers: fixture.auth, body: ByteBuffer(string: #"{"name": "Shop!"}"#)
            ) { response in
                #expect(response.status == .badRequest)
            }
            // Its env is saved, and no release is queued before a deploy.
            try await client.execute(
                uri: "/v1/apps/shop/env", method: .patch, headers: fixture.auth,
                body: ByteBuffer(string: #"{"set": {"FOO": "bar"}, "unset": []}"#)
            ) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            // A value with a NUL byte is refused whole, not stored cut short.
            try await client.execute(
                uri: "/v1/apps/shop/env", method: .patch, headers: fixture.auth,
                body: ByteBuffer(string: #"{"set": {"FOO": "abc\u0000def"}, "unset": []}"#)
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("the value of FOO holds a NUL byte"))
            }
            // A variable longer than Linux takes, or an environment past 512 KiB, is refused
            // whole: the container would not start.
            let long = String(repeating: "x", count: 200_000)
            let spread = (1...5).map { "\"V\($0)\": \"" + String(repeating: "y", count: 120_000) + "\"" }
            for (body, problem) in [
                ("{\"set\": {\"BIG\": \"" + long + "\"}}", "BIG takes 195.4k with its value, more than the 128k Linux"),
                (
                    "{\"set\": {" + spread.joined(separator: ", ") + "}}",
                    "would take 586.0k, more than the 512k an app's"
                ),
            ] {
                try await client.execute(
                    uri: "/v1/apps/shop/env", method: .patch, headers: fixture.auth, body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains(problem), "\(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/v1/apps/shop/env", method: .get, headers: fixture.auth) { response in
                #expect(String(buffer: response.body).contains(#""FOO":"bar""#), "\(String(buffer: response.body))")
                #expect(!String(buffer: response.body).contains("BIG"))
            }
            // A body that does not fit says where; either field may be left out.
            for (body, problem) in [
                (#"{"set": 3}"#, "'set' must be an object"),
                (#"{"set": {"A": 1}}"#, "'set.A' must be a string"),
                (#"{"unset": "FOO"}"#, "'unset' must be an array"),
                (#"{"set": "#, "it is not valid JSON"),
                (#"{"FOO": "bar"}"#, "'FOO': not a field: give set"),
                (#"{"set": {"A": "1"}, "unset": ["A"]}"#, "A is both set and unset"),
            ] {
                try await client.execute(
                    uri: "/v1/apps/shop/env", method: .patch, headers: fixture.auth, body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(
                        String(buffer: response.body).contains(problem), "\(body): \(String(buffer: response.body))")
                }
            }
            try await client.execute(
                uri: "/v1/apps/shop/env", method: .patch, headers: fixture.auth,
                body: ByteBuffer(string: #"{"set": {"BAR": "1"}}"#)
            ) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            let huge = #"{"set": {"BIG": ""# + String(repeating: "x", count: 3 << 20) + #""}}"#
            try await client.execute(
                uri: "/v1/apps/shop/env", method: .patch, headers: fixture.auth, body: ByteBuffer(string: huge)
            ) { response in
                #expect(response.status == .contentTooLarge)
                let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error.code == "payload_too_large")
            }
            try await client.execute(uri: "/v1/jobs?app=shop", method: .get, headers: fixture.auth) { response in
                let list = try JSONDecoder.mini.decode(JobList.self, from: Data(buffer: response.body))
                #expect(list.jobs.isEmpty)
            }
        }
    }

    @Test("a health check path is saved, shown with the app, checked, and reset to the default")
    func healthCheckPath() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            func put(_ json: String) async throws -> HTTPResponse.Status {
                try await client.execute(
                    uri: "/v1/apps/shop/health", method: .put, headers: fixture.auth, body: ByteBuffer(string: json)
                ) { $0.status }
            }
            func shown() async throws -> String? {
                try await client.execute(uri: "/v1/apps/shop", method: .get, headers: fixture.auth) { response in
                    try JSONDecoder.mini.decode(AppInfo.self, from: Data(buffer: response.body)).healthPath
                }
            }
            #expect(try await put(#"{"path": "/healthz"}"#) == .notFound, "no app yet")
            _ = try await client.execute(
                uri: "/v1/apps", method: .post, headers: fixture.auth, body: ByteBuffer(string: #"{"name": "shop"}"#))
            #expect(try await shown() == nil)
            #expect(try await put(#"{"path": "/healthz?deep=1"}"#) == .ok)
            #expect(try await shown() == "/healthz?deep=1")
            for bad in [
                #"{"path": "healthz"}"#, #"{"path": "/a b"}"#, #"{"path": "/a#b"}"#, #"{"path": 3}"#,
                #"{"paht": "/x"}"#, "{}",
            ] {
                #expect(try await put(bad) == .badRequest, "\(bad)")
            }
            #expect(try await shown() == "/healthz?deep=1", "a refused path changes nothing")
            #expect(try await put(#"{"path": null}"#) == .ok)
            #expect(try await shown() == nil)
        }
    }

    @Test("maintenance mode is turned on and off, shown with the app; a bad body changes nothing")
    func maintenanceMode() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            func put(_ json: String) async throws -> HTTPResponse.Status {
                try await client.execute(
                    uri: "/v1/apps/shop/maintenance", method: .put, headers: fixture.auth,
                    body: ByteBuffer(string: json)
                ) { $0.status }
            }
            func shown() async throws -> Bool? {
                try await client.execute(uri: "/v1/apps/shop", method: .get, headers: fixture.auth) { response in
                    try JSONDecoder.mini.decode(AppInfo.self, from: Data(buffer: response.body)).maintenance
                }
            }
            #expect(try await put(#"{"enabled": true}"#) == .notFound, "no app yet")
            _ = try await client.execute(
                uri: "/v1/apps", method: .post, headers: fixture.auth, body: ByteBuffer(string: #"{"name": "shop"}"#))
            #expect(try await shown() == false)
            #expect(try await put(#"{"enabled": true}"#) == .ok)
            #expect(try await shown() == true)
            #expect(try await AppStore(database: fixture.database).appsInMaintenance() == ["shop"])
            for bad in [#"{"enabled": "yes"}"#, #"{"enable": true}"#, "{}", "true"] {
                #expect(try await put(bad) == .badRequest, "\(bad)")
            }
            #expect(try await shown() == true, "a refused body changes nothing")
            #expect(try await put(#"{"enabled": false}"#) == .ok)
            #expect(try await shown() == false)
        }
    }

    @Test("a release command is saved, shown with the app, checked, and removed")
    func releaseCommand() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            _ = try await client.execute(
                uri: "/v1/apps", method: .post, headers: fixture.auth, body: ByteBuffer(string: #"{"name": "shop"}"#))
            func put(_ json: String) async throws -> HTTPResponse.Status {
                try await client.execute(
                    uri: "/v1/apps/shop/release-command", method: .put, headers: fixture.auth,
                    body: ByteBuffer(string: json)
                ) { $0.status }
            }
            func shown() async throws -> [String]? {
                try await client.execute(uri: "/v1/apps/shop", method: .get, headers: fixture.auth) { response in
                    try JSONDecoder.mini.decode(AppInfo.self, from: Data(buffer: response.body)).releaseCommand
                }
            }
            #expect(try await shown() == nil)
            #expect(try await put(#"{"command": ["rake", "db:migrate"]}"#) == .ok)
            #expect(try await shown() == ["rake", "db:migrate"])
            for bad in [
                #"{"command": []}"#, #"{"command": [""]}"#, #"{"command": "rake"}"#, "{}",
                #"{"command": ["a\u0000b"]}"#,
            ] {
                #expect(try await put(bad) == .badRequest, "\(bad)")
            }
            #expect(try await shown() == ["rake", "db:migrate"], "a refused command changes nothing")
            #expect(try await put(#"{"command": null}"#) == .ok)
            #expect(try await shown() == nil)
        }
    }

    @Test("query numbers that are not whole numbers in range get 400, not a guess")
    func badQueryNumbers() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.router) { client in
            for query in ["limit=abc", "limit=0", "limit=1001", "limit=-5"] {
                try await client.execute(uri: "/v1/jobs?\(query)", method: .get, headers: fixture.auth) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(String(buffer: response.body).contains("limit must be a whole number from 1 to 1000"))
                }
            }
            try await client.execute(uri: "/v1/jobs?limit=1000", method: .get, headers: fixture.auth) { response in
                #expect(response.status == .ok)
            }
            _ = try await client.execute(
                uri: "/v1/apps/app1/deploys", method: .post, headers: fixture.auth,
                body: try Self.archive([("Dockerfile", "FROM scratch\n")])
            ) { response in #expect(response.status == .accepted) }
            for query in ["tail=1e9", "tail=-1", "tail=10001"] {
                try await client.execute(uri: "/v1/apps/app1/logs?\(query)", method: .get, headers: fixture.auth) {
                    response in
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(String(buffer: response.body).contains("tail must be a whole number from 0 to 10000"))
                }
            }
        }
    }

    @Test("a followed build log counts on /metrics while its client stays, and ends once the client has gone")
    func followedStreamEndsWithItsClient() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.live) { client in
            // No worker runs: the job stays queued, so its log is followed until the client goes.
            let job = try await Self.queueDeploy(client, fixture)
            @Sendable func followed() async throws -> String? {
                try await client.execute(uri: "/metrics", method: .get, headers: fixture.auth) { response in
                    String(buffer: response.body).split(separator: "\n")
                        .first { $0.hasPrefix("mini_api_followed_streams ") }.map(String.init)
                }
            }
            func waitUntilFollowed(_ count: Int) async throws {
                let deadline = ContinuousClock.now + .seconds(3)
                while try await followed() != "mini_api_followed_streams \(count)", ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await followed() == "mini_api_followed_streams \(count)")
            }
            try await waitUntilFollowed(0)
            let follower = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: try #require(client.port)).get()
            try await follower.writeAndFlush(
                ByteBuffer(
                    string: "GET /v1/jobs/\(job.id)/log?follow=1 HTTP/1.1\r\nHost: mini\r\n"
                        + "Authorization: Bearer \(fixture.token)\r\n\r\n"))
            try await waitUntilFollowed(1)
            try await follower.close()
            try await waitUntilFollowed(0)
        }
    }

    @Test("followed logs end, saying so, once their request's token is revoked")
    func followedStreamsEndWithTheirToken() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let ci = try await TokenStore(database: fixture.database).create(name: "ci")
        try await fixture.app.test(.live) { client in
            // No worker runs: the job stays queued, and its log and the app's logs are followed
            // until something ends them.
            let job = try await Self.queueDeploy(client, fixture)
            // Each on a connection of its own, read until the server closes it (at most 10 s).
            let port = try #require(client.port)
            let followers = ["/v1/jobs/\(job.id)/log?follow=1", "/v1/apps/app1/logs?follow=1"].map { uri in
                Task {
                    try await Self.readUntilClosed(port: port, request: "GET \(uri)", token: ci, within: .seconds(10))
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            try await TokenStore(database: fixture.database).revoke(name: "ci")
            let revoked = ContinuousClock.now
            // A new token under the old name (a rotation) does not keep the old one's streams.
            _ = try await TokenStore(database: fixture.database).create(name: "ci")
            for follower in followers {
                let answer = try await follower.value
                // The last chunk says why, then the body ends (a chunked body's last chunk).
                let ending = FollowedStreamEnd.tokenRevoked.line + "\r\n0\r\n\r\n"
                #expect(answer?.hasSuffix(ending) == true, "\(answer ?? "still open after 10 s")")
            }
            #expect(ContinuousClock.now - revoked < .seconds(4))
        }
    }

    @Test("a write the disk has no room for gets 503 saying so, and changes nothing")
    func diskFull() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        _ = try await fixture.database.write { db in try AppStore.ensureApp(try AppName("web"), in: db) }
        // SQLite answers SQLITE_FULL once the file would outgrow this, as on a full disk.
        try await fixture.database.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        let big = String(repeating: "x", count: 100_000)
        try await fixture.app.test(.router) { client in
            try await client.execute(
                uri: "/v1/apps/web/env", method: .patch, headers: fixture.auth,
                body: ByteBuffer(string: #"{"set": {"BIG": "\#(big)"}}"#)
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("disk is full"), "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/apps/web/env", method: .get, headers: fixture.auth) { response in
                #expect(response.status == .ok && !String(buffer: response.body).contains("BIG"))
            }
        }
    }

    @Test("a request body NIO cannot read (broken chunked framing) gets 400, not 500")
    func unreadableBody() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.live) { client in
            let port = try #require(client.port)
            for uri in ["/v1/apps", "/v1/apps/web/deploys"] {
                let answer = try await Self.readUntilClosed(
                    port: port, request: "POST \(uri)", token: fixture.token,
                    fields: "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n",
                    body: "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n", within: .seconds(5))
                #expect(answer?.hasPrefix("HTTP/1.1 400") == true, "\(uri): \(answer ?? "still open after 5 s")")
                #expect(answer?.contains("could not be read") == true, "\(uri): \(answer ?? "")")
            }
        }
    }

    /// Queues a deploy of `app1` (a Dockerfile alone) and returns its job: with no worker in
    /// these tests, it stays queued.
    static func queueDeploy(_ client: any TestClientProtocol, _ fixture: Fixture) async throws -> JobInfo {
        try await client.execute(
            uri: "/v1/apps/app1/deploys", method: .post, headers: fixture.auth,
            body: try archive([("Dockerfile", "FROM scratch\n")])
        ) { response in
            try JSONDecoder.mini.decode(DeployAccepted.self, from: Data(buffer: response.body)).job
        }
    }

    /// Sends `request` (method and target) with `token`, then `fields` (each ended by CRLF)
    /// and `body`, on a new connection and returns what comes back until the server closes it;
    /// nil when it is still open after `limit`.
    static func readUntilClosed(
        port: Int, request: String, token: String, fields: String = "", body: String = "", within limit: Duration
    ) async throws -> String? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(
                        ByteBuffer(
                            string: "\(request) HTTP/1.1\r\nHost: mini\r\nAuthorization: Bearer \(token)\r\n"
                                + "\(fields)\r\n\(body)"))
                    var text = ""
                    for try await chunk in inbound { text += String(buffer: chunk) }
                    return text
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test("custom domains: added, listed, refused when invalid or taken, removed, gone with the app")
    func domains() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let apps = AppStore(database: fixture.database)
        for name in ["web", "other"] {
            let app = try AppName(name)
            _ = try await fixture.database.write { db in try AppStore.ensureApp(app, in: db) }
        }
        try await fixture.app.test(.router) { client in
            for (app, host, status, says) in [
                ("web", "WWW.Example.com", HTTPResponse.Status.created, ""), ("web", "example.com", .created, ""),
                ("other", "www.example.com", .conflict, "belongs to web; remove it there first"),
                ("web", "localhost", .badRequest, "at least two labels"),
                ("web", "bad_name.example.com", .badRequest, "not a host name"),
                ("web", "bad_domain!", .badRequest, "not a host name"),
                ("web", "example.com:8080", .badRequest, "give the host name alone"),
                ("web", "bad domain.com", .badRequest, "holds a space"),
                ("nope", "a.example.com", .notFound, ""), ("web", "other.localhost", .badRequest, ""),
                ("web", "10.0.0.5", .badRequest, "IP address"), ("web", "example.com", .ok, ""),
            ] {
                let body = ByteBuffer(string: "{\"host\": \"\(host)\"}")
                try await client.execute(
                    uri: "/v1/apps/\(app)/domains", method: .post, headers: fixture.auth, body: body
                ) { response in
                    #expect(response.status == status, "\(app) \(host)")
                    #expect(
                        says.isEmpty || String(buffer: response.body).contains(says),
                        "\(app) \(host): \(String(buffer: response.body))"
                    )
                }
            }
            try await client.execute(uri: "/v1/apps/web/domains", method: .get, headers: fixture.auth) { response in
                let list = try JSONDecoder.mini.decode(DomainList.self, from: Data(buffer: response.body))
                #expect(list.domains.map(\.rawValue) == ["example.com", "www.example.com"])
            }
            #expect(try await apps.domainRoutes() == ["example.com": "web", "www.example.com": "web"])
            try await client.execute(uri: "/v1/apps/web/domains/example.com", method: .delete, headers: fixture.auth) {
                response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/apps/web/domains/example.com", method: .delete, headers: fixture.auth) {
                response in
                #expect(response.status == .notFound)
            }
        }
        try await fixture.database.write { db in try db.execute(sql: "DELETE FROM apps WHERE name = 'web'") }
        #expect(try await apps.domainRoutes().isEmpty, "domains go with their app")
    }

    @Test("A rollback body that is not a rollback request is refused, not read as no body")
    func rollbackBody() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        _ = try await fixture.database.write { db in try AppStore.ensureApp(try AppName("web"), in: db) }
        try await fixture.app.test(.router) { client in
            for (body, status) in [
                ("{\"release\": \"3\"}", HTTPResponse.Status.badRequest), ("not json", .badRequest),
                ("", .conflict), ("{}", .conflict), ("{\"release\": 3}", .conflict),
            ] {
                try await client.execute(
                    uri: "/v1/apps/web/rollback", method: .post, headers: fixture.auth, body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == status, "body \(body)")
                }
            }
        }
    }

    @Test("A restart queues a release job of the current release; without a release or instances it is a conflict")
    func restart() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        _ = try await fixture.database.write { db in try AppStore.ensureApp(try AppName("web"), in: db) }
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/apps/web/restart", method: .post, headers: fixture.auth) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("deploy it first"))
            }
            try await fixture.database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO releases (app, version, image, container_port, created_at)
                        VALUES ('web', 1, 'sha256:1', 8080, 0)
                        """)
                try db.execute(sql: "UPDATE apps SET current_release = 1 WHERE name = 'web'")
            }
            try await client.execute(uri: "/v1/apps/web/restart", method: .post, headers: fixture.auth) { response in
                #expect(response.status == .accepted)
                let accepted = try JSONDecoder.mini.decode(ChangeAccepted.self, from: Data(buffer: response.body))
                #expect(accepted.job?.kind == .release)
                #expect(accepted.job?.state == .queued)
            }
            try await client.execute(uri: "/v1/apps/nosuch/restart", method: .post, headers: fixture.auth) {
                #expect($0.status == .notFound)
            }
            // Scaled to 0: nothing runs, nothing to restart.
            try await fixture.database.write { db in
                try db.execute(sql: "UPDATE apps SET instances = 0 WHERE name = 'web'")
            }
            try await client.execute(uri: "/v1/apps/web/restart", method: .post, headers: fixture.auth) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("scaled to 0"), "\(String(buffer: response.body))")
            }
        }
    }

    @Test(
        "env, scale and limits changes make a release only when the settings differ from what the current release runs")
    func unchangedMakesNoRelease() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.database.write { db in
            try AppStore.ensureApp(try AppName("web"), in: db)
            try db.execute(
                sql: """
                    INSERT INTO releases (app, version, image, container_port, env_json, created_at)
                    VALUES ('web', 1, 'sha256:1', 8080, '{"A":"1"}', 0)
                    """)
            try db.execute(sql: "UPDATE apps SET current_release = 1 WHERE name = 'web'")
            try AppStore.replaceEnvironment(of: try AppName("web"), with: ["A": "1"], in: db)
        }
        /// What a change answered: its status, `changed`, and the job it queued.
        struct Outcome: Equatable {
            let status: HTTPResponse.Status
            let changed: Bool?
            let job: JobID?
            var queued: Bool { job != nil }
        }
        /// What the queued job does next: nothing (it stays queued, as if running), or fail.
        enum Then { case staysQueued, fails }
        let queue = JobQueue(database: fixture.database)
        try await fixture.app.test(.router) { client in
            func change(_ method: HTTPRequest.Method, _ path: String, _ body: any Encodable) async throws -> Outcome {
                try await client.execute(
                    uri: "/v1/apps/web/\(path)", method: method, headers: fixture.auth,
                    body: ByteBuffer(bytes: try JSONEncoder.mini.encode(body))
                ) { response in
                    if path == "env" {
                        let info = try JSONDecoder.mini.decode(EnvironmentInfo.self, from: Data(buffer: response.body))
                        return Outcome(status: response.status, changed: info.changed, job: info.job?.id)
                    }
                    let accepted = try JSONDecoder.mini.decode(ChangeAccepted.self, from: Data(buffer: response.body))
                    return Outcome(status: response.status, changed: accepted.changed, job: accepted.job?.id)
                }
            }
            // No worker runs here: v1 (A=1, one instance, no limits) stays current. A queued
            // job that "fails" is cancelled; one that stays queued stands for a running one,
            // which read the settings before the next change.
            let steps: [(HTTPRequest.Method, String, any Encodable & Sendable, makesRelease: Bool, Then)] = [
                (.patch, "env", EnvironmentPatch(set: ["A": "1"]), false, .fails),
                (.patch, "env", EnvironmentPatch(unset: ["NOPE"]), false, .fails),
                (.patch, "env", EnvironmentPatch(set: ["A": "2"]), true, .fails),
                (.patch, "env", EnvironmentPatch(set: ["A": "2"]), true, .fails),  // retried
                (.patch, "env", EnvironmentPatch(set: ["A": "1"]), false, .fails),  // back to what runs
                (.put, "scale", ScaleRequest(instances: 1), false, .fails),
                (.put, "scale", ScaleRequest(instances: 2), true, .staysQueued),
                (.put, "scale", ScaleRequest(instances: 1), true, .fails),  // after the pending job
                (.put, "scale", ScaleRequest(instances: 1), false, .fails),
                (.put, "limits", LimitsChange(memoryBytes: .remove, cpus: .remove), false, .fails),
                (.put, "limits", LimitsChange(memoryBytes: .set(64 << 20)), true, .fails),
                (.put, "limits", LimitsChange(memoryBytes: .remove), false, .fails),
            ]
            for (index, (method, path, body, makesRelease, then)) in steps.enumerated() {
                let outcome = try await change(method, path, body)
                #expect(outcome.status == (makesRelease ? .accepted : .ok), "step \(index + 1): \(path)")
                #expect(outcome.changed == makesRelease && outcome.queued == makesRelease, "step \(index + 1): \(path)")
                if let job = outcome.job, then == .fails { _ = try await queue.cancel(job) }
            }
        }
        let releaseJobs = try await JobQueue(database: fixture.database).jobs().filter { $0.kind == .release }
        #expect(releaseJobs.count == 5)
    }

    @Test("limits beyond the server are refused; a memory limit kept from before does not block changing the CPUs")
    func limitsBeyondTheServer() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let machine = try await DockerClient(logger: Logger(label: "test")).machine()
        let tooMuch = machine.memoryBytes + (1 << 30)
        try await fixture.database.write { db in
            try AppStore.ensureApp(try AppName("web"), in: db)
            // Set on a bigger server, say.
            try db.execute(sql: "UPDATE apps SET memory_bytes = ? WHERE name = 'web'", arguments: [tooMuch])
        }
        try await fixture.app.test(.router) { client in
            func put(_ change: LimitsChange) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/v1/apps/web/limits", method: .put, headers: fixture.auth,
                    body: ByteBuffer(bytes: try JSONEncoder.mini.encode(change))
                ) { ($0.status, String(buffer: $0.body)) }
            }
            // As the CLI sends them: only the limits named.
            let kept = try await put(LimitsChange(cpus: .set(0.5)))
            #expect(kept.0 == .ok, "\(kept)")
            let raised = try await put(LimitsChange(memoryBytes: .set(tooMuch + (1 << 20))))
            #expect(raised.0 == .badRequest && raised.1.contains("of memory"), "\(raised)")
            let cpus = try await put(LimitsChange(cpus: .set(Double(machine.cpus) + 1)))
            #expect(cpus.0 == .badRequest && cpus.1.contains("CPU"), "\(cpus)")
            // CPUs kept from a bigger server fail every start: a change of the memory alone
            // says so too.
            try await fixture.database.write { db in
                try db.execute(
                    sql: "UPDATE apps SET nano_cpus = ? WHERE name = 'web'",
                    arguments: [Int64(machine.cpus + 1) * 1_000_000_000])
            }
            let memoryOnly = try await put(LimitsChange(memoryBytes: .set(64 << 20)))
            #expect(memoryOnly.0 == .badRequest && memoryOnly.1.contains("CPU"), "\(memoryOnly)")
        }
    }

    @Test(
        "a settings body with a key missing or unknown, or a count that is not whole, changes nothing; limits not named keep their values"
    )
    func misspeltSettings() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.database.write { db in
            try AppStore.ensureApp(try AppName("web"), in: db)
            try db.execute(
                sql: "UPDATE apps SET memory_bytes = ?, nano_cpus = ? WHERE name = 'web'",
                arguments: [64 << 20, 500_000_000])
        }
        try await fixture.app.test(.router) { client in
            func put(_ path: String, _ json: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(
                    uri: "/v1/apps/web/\(path)", method: .put, headers: fixture.auth, body: ByteBuffer(string: json)
                ) { ($0.status, String(buffer: $0.body)) }
            }
            for (path, json, said) in [
                ("limits", #"{"bogus": 1}"#, "'bogus': not a limit"),
                ("limits", #"{"memory": "64m", "cpus": null}"#, "'memory': not a limit"),
                ("limits", "{}", "name a limit"),
                ("scale", #"{"instances": 1.5}"#, "whole numbers only"),
            ] {
                let (status, body) = try await put(path, json)
                #expect(
                    status == .badRequest && body.contains(said) && !body.contains("not valid JSON"), "\(json): \(body)"
                )
            }
            try await client.execute(uri: "/v1/apps/web", method: .get, headers: fixture.auth) { response in
                let info = try JSONDecoder.mini.decode(AppInfo.self, from: Data(buffer: response.body))
                #expect(info.limits == Limits(memoryBytes: 64 << 20, cpus: 0.5) && info.scale == 1, "\(info)")
            }
            // A limit not named keeps its value: two changes, one of each, both hold.
            #expect(try await put("limits", #"{"memoryBytes": 134217728}"#).0 == .ok)
            #expect(try await put("limits", #"{"cpus": 0.25}"#).0 == .ok)
            try await client.execute(uri: "/v1/apps/web", method: .get, headers: fixture.auth) { response in
                let info = try JSONDecoder.mini.decode(AppInfo.self, from: Data(buffer: response.body))
                #expect(info.limits == Limits(memoryBytes: 128 << 20, cpus: 0.25), "\(info)")
            }
            #expect(try await put("limits", #"{"memoryBytes": null}"#).0 == .ok)
            try await client.execute(uri: "/v1/apps/web", method: .get, headers: fixture.auth) { response in
                let info = try JSONDecoder.mini.decode(AppInfo.self, from: Data(buffer: response.body))
                #expect(info.limits == Limits(memoryBytes: nil, cpus: 0.25), "\(info)")
            }
        }
    }

    @Test("a settings change made while an app's first deploy runs queues a release after it")
    func changeDuringFirstDeploy() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let queue = JobQueue(database: fixture.database)
        _ = try await queue.enqueue(app: try AppName("first"), uploadBytes: 1) { id in "/nonexistent/\(id).tar.gz" }
        try await fixture.app.test(.router) { client in
            func setEnvironment(_ value: String) async throws -> (HTTPResponse.Status, EnvironmentInfo) {
                try await client.execute(
                    uri: "/v1/apps/first/env", method: .patch, headers: fixture.auth,
                    body: ByteBuffer(string: #"{"set": {"A": "\#(value)"}}"#)
                ) { response in
                    (
                        response.status,
                        try JSONDecoder.mini.decode(EnvironmentInfo.self, from: Data(buffer: response.body))
                    )
                }
            }
            // Queued, the deploy reads the settings when it starts: nothing more to do.
            let (queuedStatus, whileQueued) = try await setEnvironment("1")
            #expect(queuedStatus == .ok && whileQueued.job == nil && whileQueued.changed == true)
            // Running, it has read them: the change needs a release of its own, after it.
            let deploy = try #require(try await queue.claim(as: WorkerIdentity(name: "building")))
            let (runningStatus, whileRunning) = try await setEnvironment("2")
            #expect(runningStatus == .accepted && whileRunning.changed == true)
            let release = try #require(whileRunning.job)
            #expect(release.kind == .release && release.id > deploy.info.id)
            // The same value again, while that release waits, is not live yet either: it gets
            // a job to follow, which replaces the waiting one.
            let (_, again) = try await setEnvironment("2")
            let replacing = try #require(again.job)
            #expect(replacing.id > release.id && again.changed == true)
        }
        let releases = try await queue.jobs(app: try AppName("first")).filter { $0.kind == .release }
        #expect(releases.map(\.state) == [.queued, .cancelled], "\(releases)")
    }

    @Test("Prometheus histograms are cumulative with +Inf, and label values are escaped")
    func prometheusText() {
        var text = PrometheusText()
        text.histogram(
            "t", help: "h", buckets: [1, 5],
            series: [HistogramSeries(labels: "", cumulativeCounts: [1, 2], count: 3, sum: 11.5)]
        )
        #expect(text.text.contains("t_bucket{le=\"1\"} 1\nt_bucket{le=\"5\"} 2\nt_bucket{le=\"+Inf\"} 3\n"))
        #expect(text.text.contains("t_sum 11.5\nt_count 3\n"))
        #expect(PrometheusText.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}
