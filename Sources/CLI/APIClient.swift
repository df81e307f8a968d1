import Archive
import AsyncHTTPClient
import Foundation
import MiniCore
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// The one place `mini` talks HTTP: builds requests against the resolved ``Endpoint``, sends
/// the token, decodes JSON answers and turns failures into ``CLIFailure``s with the right exit
/// code (3 unreachable, 4 unauthorized, 1 refused).
struct APIClient: Sendable {
    let endpoint: Endpoint
    private let http = Self.sharedHTTPClient

    /// The CLI's HTTP client, never shut down (like `HTTPClient.shared`), set up for calls to
    /// one's own server rather than like a browser:
    /// - a refused connection fails at once instead of being retried until the connect
    ///   timeout (10 s, for a host that does not answer at all), so a stopped minid is
    ///   reported right away;
    /// - no idle read timeout: a followed build log or `mini logs -f` may be quiet for
    ///   minutes; every call has its own deadline instead (``callTimeout``, ``streamTimeout``);
    /// - redirects are not followed: they would carry the token elsewhere.
    static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: nil)
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A plain call's deadline; streams (uploads, followed logs) get ``streamTimeout``.
    static let callTimeout = TimeAmount.seconds(30)
    private static let streamTimeout = TimeAmount.hours(6)
    private static let maxJSONBytes = 16 << 20

    init(endpoint: Endpoint) { self.endpoint = endpoint }

    /// `GET path`, decoding the JSON answer.
    func get<Answer: Decodable>(
        _ path: String, query: [String: String?] = [:], timeout: TimeAmount = callTimeout,
        as _: Answer.Type = Answer.self
    )
        async throws -> Answer
    {
        let response = try await send(request(path, query: query), timeout: timeout)
        return try await decode(response)
    }

    /// `POST path` with an optional streamed body, decoding the JSON answer.
    func post<Answer: Decodable>(
        _ path: String, query: [String: String?] = [:], body: HTTPClientRequest.Body? = nil,
        contentType: String? = nil, as _: Answer.Type = Answer.self
    ) async throws -> Answer {
        var request = try request(path, query: query)
        request.method = .POST
        request.body = body
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        let response = try await send(
            request, timeout: body == nil ? Self.callTimeout : Self.streamTimeout)
        return try await decode(response)
    }

    /// `method path` with a JSON body, decoding the JSON answer.
    func send<Body: Encodable, Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, json body: Body, as _: Answer.Type = Answer.self
    ) async throws -> Answer {
        var request = try request(path)
        request.method = method
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder.mini.encode(body)))
        request.headers.add(name: "Content-Type", value: "application/json")
        return try await decode(try await send(request, timeout: Self.callTimeout))
    }

    /// `DELETE path`, expecting no answer body.
    func delete(_ path: String, query: [String: String?] = [:]) async throws {
        var request = try request(path, query: query)
        request.method = .DELETE
        let response = try await send(request, timeout: Self.callTimeout)
        _ = try? await response.body.collect(upTo: Self.maxJSONBytes)
    }

    /// `GET path` as text, calling `line` for each line as soon as it has arrived.
    /// `whenBroken` says what a broken connection means (by default, for a job's log).
    func streamLines(
        _ path: String, query: [String: String?] = [:],
        whenBroken: String = "what runs on the server goes on: check it with mini status or mini jobs",
        line: (String) -> Void
    ) async throws {
        try await streamLines(try request(path, query: query), path: path, whenBroken: whenBroken, line: line)
    }

    /// `POST path` with a JSON body, calling `line` for each line of the answer as soon as it
    /// has arrived. `whenBroken` says what a broken connection means for the call.
    func streamLines<Body: Encodable>(
        posting body: Body, to path: String, whenBroken: String, line: (String) -> Void
    ) async throws {
        var request = try request(path)
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder.mini.encode(body)))
        request.headers.add(name: "Content-Type", value: "application/json")
        try await streamLines(request, path: path, whenBroken: whenBroken, line: line)
    }

    /// `POST path` with a body of `contentType` that `body` streams while the answer comes,
    /// calling `line` for each line of the answer as soon as it has arrived.
    func streamLines<Body: AsyncSequence & Sendable>(
        streaming body: Body, contentType: String, to path: String, whenBroken: String,
        line: (String) -> Void
    ) async throws where Body.Element == ByteBuffer {
        var request = try request(path)
        request.method = .POST
        request.body = .stream(body, length: .unknown)
        request.headers.add(name: "Content-Type", value: contentType)
        try await streamLines(request, path: path, whenBroken: whenBroken, line: line)
    }

    private func streamLines(
        _ request: HTTPClientRequest, path: String, whenBroken: String, line: (String) -> Void
    ) async throws {
        let response = try await send(request, timeout: Self.streamTimeout)
        var pending = ByteBuffer()
        var last: String?
        do {
            for try await var chunk in response.body {
                pending.writeBuffer(&chunk)
                while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let length = newline - pending.readerIndex
                    let text = pending.readString(length: length) ?? ""
                    line(text)
                    last = text
                    pending.moveReaderIndex(forwardBy: 1)
                }
                pending.discardReadBytes()
            }
        } catch {
            throw CLIFailure(
                "the connection to \(endpoint.host) broke while reading \(path) (\(error)); \(whenBroken)",
                exitCode: .unreachable
            )
        }
        if pending.readableBytes > 0 { line(pending.readString(length: pending.readableBytes) ?? "") }
        switch last.flatMap(FollowedStreamEnd.init(rawValue:)) {
        case .serverStopping:
            throw CLIFailure(
                "minid stopped before the end of \(path); \(whenBroken)", exitCode: .unreachable)
        case .tokenRevoked:
            throw CLIFailure(
                "the token was revoked; set a valid one with mini config set-token", exitCode: .unauthorized)
        case .tokenExpired:
            throw CLIFailure(
                "the token expired; make a new one on the server (minid tokens create) and set it with "
                    + "mini config set-token", exitCode: .unauthorized)
        case .appDestroyed:
            throw CLIFailure("the app was destroyed while its logs were followed")
        case nil:
            return
        }
    }

    /// A GET request for `path` with the token and user agent set.
    private func request(_ path: String, query: [String: String?] = [:]) throws -> HTTPClientRequest {
        guard var components = URLComponents(string: endpoint.host + path),
            components.scheme == "http" || components.scheme == "https"
        else {
            throw CLIFailure(
                "'\(endpoint.host)' (from \(endpoint.hostSource)) is not an http(s) URL: \(endpoint.hostAdvice)",
                exitCode: .usage
            )
        }
        let items = query.sorted { $0.key < $1.key }.compactMap { key, value in
            value.map { URLQueryItem(name: key, value: $0) }
        }
        if !items.isEmpty { components.queryItems = items }
        var request = HTTPClientRequest(url: components.string ?? endpoint.host + path)
        request.headers.add(name: "User-Agent", value: "mini/\(MiniVersion.current)")
        if let token = endpoint.token {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        return request
    }

    /// Executes `request`; any answer other than 2xx becomes a ``CLIFailure``.
    private func send(_ request: HTTPClientRequest, timeout: TimeAmount) async throws
        -> HTTPClientResponse
    {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch let error as ArchiveError {
            throw CLIFailure(error.message)
        } catch is CancellationError {
            throw CLIFailure("cancelled")
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw CLIFailure(
                "\(endpoint.host) did not answer within \(timeout.nanoseconds / 1_000_000_000) s; it may still be "
                    + "working on the request: check with mini apps or mini jobs before you repeat it",
                exitCode: .unreachable
            )
        } catch {
            throw CLIFailure(
                "cannot reach \(endpoint.host): \(Self.describe(connectionFailure: error)); is minid running there? "
                    + "To use another server, \(endpoint.hostAdvice)",
                exitCode: .unreachable
            )
        }
        guard (200..<300).contains(response.status.code) else {
            throw await failure(for: response)
        }
        return response
    }

    /// Why a call could not reach the server, in words.
    private static func describe(connectionFailure error: any Error) -> String {
        func isRefused(_ error: any Error) -> Bool { (error as? IOError)?.errnoCode == ECONNREFUSED }
        switch error {
        case let error where isRefused(error):
            return "connection refused"
        case let error as NIOConnectionError:
            // A host name: every address it resolved to was tried.
            if error.connectionErrors.contains(where: { isRefused($0.error) }) {
                return "connection refused"
            }
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil {
                return "cannot resolve \(error.host)"
            }
            return "\(error)"
        case let error as HTTPClientError where error == .connectTimeout:
            return "no answer to the connection attempt"
        default:
            return "\(error)"
        }
    }

    private func failure(for response: HTTPClientResponse) async -> CLIFailure {
        let body = try? await response.body.collect(upTo: 1 << 20)
        // minid answers every error with this body.
        let message = body.flatMap { try? JSONDecoder.mini.decode(APIErrorBody.self, from: $0).error.message }
        switch response.status {
        case .forbidden:
            // A token limited to some apps, asked about another: the message says which.
            return CLIFailure(message ?? "\(endpoint.host) refused the token for this (403)", exitCode: .unauthorized)
        case .unauthorized:
            return CLIFailure(
                "\(message ?? "\(endpoint.host) refused the token (\(response.status))") "
                    + "(set the token with mini config set-token < FILE, MINI_TOKEN or --token)",
                exitCode: .unauthorized
            )
        default:
            if let message { return CLIFailure(message) }
            // Not mini's API: the proxy's port, another server.
            let text =
                body.map { String(buffer: $0).prefix(200).split(whereSeparator: \.isNewline).joined(separator: " ") }
                .flatMap { $0.isEmpty ? nil : " (\($0))" } ?? ""
            return CLIFailure(
                "\(endpoint.host) answered \(response.status)\(text), not as mini's API does; "
                    + "is it minid's API address (--api-port, default 7070) and not the proxy's? See mini config show")
        }
    }

    private func decode<Answer: Decodable>(_ response: HTTPClientResponse) async throws -> Answer {
        do {
            let body = try await response.body.collect(upTo: Self.maxJSONBytes)
            return try JSONDecoder.mini.decode(Answer.self, from: body)
        } catch {
            throw CLIFailure(
                "unexpected answer from \(endpoint.host): \(error); is it a mini server of the same version?"
            )
        }
    }
}
