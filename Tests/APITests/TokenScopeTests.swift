import API
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MiniCore
import NIOCore
import Store
import Testing

/// Tokens limited to some apps (`minid tokens create --app`) and tokens that expire, through
/// the API's router on a real SQLite file.
@Suite("token scopes")
struct TokenScopeTests {
    typealias Fixture = APITests.Fixture

    @Test("a token limited to pr-* acts on pr apps only: lists, jobs, app routes and /metrics say so")
    func limitedToPattern() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let ci = try await TokenStore(database: fixture.database).create(
            name: "ci", access: .matching([try AppPattern("pr-*")]))
        let asCI: HTTPFields = [.authorization: "Bearer \(ci)"]
        try await fixture.app.test(.router) { client in
            // The admin token makes an app CI must not touch; CI makes its preview app.
            for (name, headers) in [("shop", fixture.auth), ("pr-7", asCI)] {
                try await client.execute(
                    uri: "/v1/apps", method: .post, headers: headers, body: ByteBuffer(string: #"{"name": "\#(name)"}"#)
                ) { response in
                    #expect(response.status == .created, "\(name): \(String(buffer: response.body))")
                }
            }
            try await client.execute(
                uri: "/v1/apps", method: .post, headers: asCI, body: ByteBuffer(string: #"{"name": "prod"}"#)
            ) { response in
                #expect(response.status == .forbidden)
                let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error.code == "forbidden")
                #expect(body.error.message.contains("apps matching pr-*, not prod"), "\(body.error.message)")
            }
            // A deploy each, so that each app has a job.
            let archive = try APITests.archive([("Dockerfile", "FROM scratch\n")])
            var jobs: [String: JobID] = [:]
            for (name, headers) in [("shop", fixture.auth), ("pr-7", asCI)] {
                jobs[name] = try await client.execute(
                    uri: "/v1/apps/\(name)/deploys", method: .post, headers: headers, body: archive
                ) { response in
                    #expect(response.status == .accepted, "\(name)")
                    return try JSONDecoder.mini.decode(DeployAccepted.self, from: Data(buffer: response.body)).job.id
                }
            }
            // Every route of another app is refused before it does anything.
            for (uri, method) in [
                ("/v1/apps/shop", HTTPRequest.Method.get), ("/v1/apps/shop/env", .get),
                ("/v1/apps/shop/deploys", .post),
                ("/v1/apps/shop/releases", .get), ("/v1/apps/shop/restart", .post), ("/v1/apps/shop", .delete),
                ("/v1/apps/shop/logs", .get), ("/v1/apps/shop/domains", .get), ("/v1/jobs?app=shop", .get),
                ("/metrics", .get),
                // Custom domains are claimed once: only a token for every app adds them.
                ("/v1/apps/pr-7/domains", .post),
            ] {
                try await client.execute(uri: uri, method: method, headers: asCI, body: archive) { response in
                    #expect(response.status == .forbidden, "\(method) \(uri): \(String(buffer: response.body))")
                }
            }
            // Another app's jobs are as unknown to it as jobs that never were.
            for (uri, method) in [
                ("/v1/jobs/\(jobs["shop"] ?? 0)", HTTPRequest.Method.get), ("/v1/jobs/\(jobs["shop"] ?? 0)/log", .get),
                ("/v1/jobs/\(jobs["shop"] ?? 0)/cancel", .post),
            ] {
                try await client.execute(uri: uri, method: method, headers: asCI) { response in
                    #expect(response.status == .notFound, "\(method) \(uri)")
                    #expect(String(buffer: response.body).contains("no job \(jobs["shop"] ?? 0)"))
                }
            }
            // The refused cancel changed nothing.
            try await client.execute(uri: "/v1/jobs/\(jobs["shop"] ?? 0)", method: .get, headers: fixture.auth) {
                response in
                let job = try JSONDecoder.mini.decode(JobInfo.self, from: Data(buffer: response.body))
                #expect(job.state == .queued)
            }
            // Lists hold only its apps and their jobs; the admin token sees both.
            for (headers, expected) in [(asCI, ["pr-7"]), (fixture.auth, ["pr-7", "shop"])] {
                try await client.execute(uri: "/v1/apps", method: .get, headers: headers) { response in
                    let list = try JSONDecoder.mini.decode(AppList.self, from: Data(buffer: response.body))
                    #expect(list.apps.map(\.name.rawValue).sorted() == expected)
                }
                try await client.execute(uri: "/v1/jobs", method: .get, headers: headers) { response in
                    let list = try JSONDecoder.mini.decode(JobList.self, from: Data(buffer: response.body))
                    #expect(Set(list.jobs.map(\.app.rawValue)) == Set(expected))
                }
            }
            // Its own app: read, changed, its job followed and cancelled, then destroyed.
            try await client.execute(uri: "/v1/apps/pr-7/env", method: .get, headers: asCI) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/jobs/\(jobs["pr-7"] ?? 0)/cancel", method: .post, headers: asCI) {
                response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/apps/pr-7?confirm=pr-7", method: .delete, headers: asCI) { response in
                #expect(response.status == .noContent, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: fixture.auth) { response in
                #expect(response.status == .ok)
            }
            // Each token can ask what it is.
            for (headers, expected) in [
                (asCI, TokenInfo(name: "ci", apps: [try AppPattern("pr-*")], expiresAt: nil)),
                (fixture.auth, TokenInfo(name: "test", apps: nil, expiresAt: nil)),
            ] {
                try await client.execute(uri: "/v1/whoami", method: .get, headers: headers) { response in
                    let info = try JSONDecoder.mini.decode(TokenInfo.self, from: Data(buffer: response.body))
                    #expect(info == expected)
                    #expect(String(buffer: response.body).contains(#""expiresAt":null"#))
                }
            }
        }
    }

    @Test("an expired token gets 401 saying it expired; a token cannot be made expired or without patterns")
    func expiry() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        let tokens = TokenStore(database: fixture.database)
        let soon = try await tokens.create(name: "soon", expiresAt: Date().addingTimeInterval(1))
        let asSoon: HTTPFields = [.authorization: "Bearer \(soon)"]
        try await fixture.app.test(.router) { client in
            try await client.execute(uri: "/v1/apps", method: .get, headers: asSoon) { response in
                #expect(response.status == .ok)
            }
            try await Task.sleep(for: .milliseconds(1100))
            try await client.execute(uri: "/v1/apps", method: .get, headers: asSoon) { response in
                #expect(response.status == .unauthorized)
                let body = try JSONDecoder().decode(APIErrorBody.self, from: Data(buffer: response.body))
                #expect(body.error.message.contains("the token soon expired at"), "\(body.error.message)")
            }
        }
        await #expect(throws: TokenStore.Refusal.self) {
            try await tokens.create(name: "late", expiresAt: Date().addingTimeInterval(-1))
        }
        await #expect(throws: TokenStore.Refusal.self) { try await tokens.create(name: "none", access: .matching([])) }
        #expect(try await tokens.list().map(\.name) == ["test", "soon"])
    }

    @Test("a log followed with a token ends, saying so, soon after the token expires")
    func followedStreamEndsAtExpiry() async throws {
        let fixture = try await Fixture()
        defer { fixture.cleanup() }
        try await fixture.app.test(.live) { client in
            let job = try await APITests.queueDeploy(client, fixture)
            let port = try #require(client.port)
            // Made just before the request, with time for it to begin on a busy machine (a 401,
            // kept alive, would read as a stream still open).
            let end = Date().addingTimeInterval(3)
            let brief = try await TokenStore(database: fixture.database).create(name: "brief", expiresAt: end)
            let answer = try await APITests.readUntilClosed(
                port: port, request: "GET /v1/jobs/\(job.id)/log?follow=1", token: brief, within: .seconds(12))
            #expect(
                answer?.hasSuffix(FollowedStreamEnd.tokenExpired.line + "\r\n0\r\n\r\n") == true, "\(answer ?? "open")")
            #expect(Date().timeIntervalSince(end) < 4)
        }
    }
}
