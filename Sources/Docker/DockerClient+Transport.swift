import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One query parameter of an engine request.
typealias QueryItem = (name: String, value: String)

extension DockerClient {
    /// The most bytes read from an error answer or a small JSON answer.
    static let errorBodyLimit = 1 << 20
    /// How long a plain request-response call may take.
    static let callTimeout = TimeAmount.seconds(120)

    /// Sends a request to the versioned API (`/v1.41/...`) and returns the answer, whatever
    /// its status. Its body is not read yet.
    func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [QueryItem] = [],
        body: HTTPClientRequest.Body? = nil,
        contentType: String? = nil,
        deadline: NIODeadline = .now() + DockerClient.callTimeout
    ) async throws -> HTTPClientResponse {
        let version = try await apiVersion()
        return try await send(
            method,
            unversioned: "/v\(version)\(path)",
            query: query,
            body: body,
            contentType: contentType,
            deadline: deadline
        )
    }

    /// Sends a request to `path` as given, mapping a failure to connect to
    /// ``DockerError/Code/daemonUnreachable``. A missing socket (the engine is not running)
    /// is said at once, without the connect retries meant for passing failures.
    func send(
        _ method: HTTPMethod,
        unversioned path: String,
        query: [QueryItem] = [],
        body: HTTPClientRequest.Body? = nil,
        contentType: String? = nil,
        deadline: NIODeadline
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url(path: path, query: query))
        request.method = method
        request.headers.add(name: "Host", value: "docker")
        if let contentType {
            request.headers.add(name: "Content-Type", value: contentType)
        }
        request.body = body
        logger.trace("docker request", metadata: ["method": "\(method)", "path": "\(path)"])
        guard access(socketPath, F_OK) == 0 else {
            throw DockerError.daemonUnreachable(
                socketPath: socketPath, underlying: IOError(errnoCode: errno, reason: "access"))
        }
        do {
            return try await httpClient.execute(request, deadline: deadline, logger: logger)
        } catch let error as HTTPClientError where error == .cancelled {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw DockerError.daemonUnreachable(socketPath: socketPath, underlying: error)
        }
    }

    /// Sends a request, with `json` as its body if given, and decodes the JSON answer of a
    /// success status.
    func call<Response: Decodable>(
        _ method: HTTPMethod,
        _ path: String,
        query: [QueryItem] = [],
        json: (any Encodable)? = nil,
        as type: Response.Type = Response.self,
        deadline: NIODeadline = .now() + DockerClient.callTimeout
    ) async throws -> Response {
        let response = try await send(
            method,
            path,
            query: query,
            body: try json.map { .bytes(ByteBuffer(data: try JSONEncoder().encode($0))) },
            contentType: json == nil ? nil : "application/json",
            deadline: deadline
        )
        let body = try await Self.successBody(of: response)
        do {
            return try JSONDecoder().decode(Response.self, from: body)
        } catch {
            throw DockerError.badResponse(
                "\(method) \(path) answered JSON this client cannot read: \(error)",
                status: Int(response.status.code)
            )
        }
    }

    /// Sends a request whose answer has no useful body, and returns its status (which is a
    /// success or one of `acceptedStatuses`).
    @discardableResult
    func perform(
        _ method: HTTPMethod,
        _ path: String,
        query: [QueryItem] = [],
        accepting acceptedStatuses: Set<HTTPResponseStatus> = [],
        deadline: NIODeadline = .now() + DockerClient.callTimeout
    ) async throws -> HTTPResponseStatus {
        let response = try await send(method, path, query: query, deadline: deadline)
        if acceptedStatuses.contains(response.status) {
            _ = try await response.body.collect(upTo: Self.errorBodyLimit)
            return response.status
        }
        _ = try await Self.successBody(of: response)
        return response.status
    }

    /// The whole body of a success answer; throws the engine's error for any other status.
    static func successBody(of response: HTTPClientResponse) async throws -> ByteBuffer {
        guard (200..<300).contains(response.status.code) else {
            throw try await failure(of: response)
        }
        return try await response.body.collect(upTo: errorBodyLimit)
    }

    /// The error an answer with a failure status stands for, with the engine's message.
    static func failure(of response: HTTPClientResponse) async throws -> DockerError {
        let body = try await response.body.collect(upTo: errorBodyLimit)
        return DockerError.engine(status: Int(response.status.code), message: message(in: body))
    }

    /// The `message` of an engine error body (`{"message": "..."}`), or the body as text.
    static func message(in body: ByteBuffer) -> String {
        struct EngineMessage: Decodable { var message: String }
        if let decoded = try? JSONDecoder().decode(EngineMessage.self, from: body) {
            return decoded.message
        }
        let text = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "the engine gave no reason" : text
    }

    /// A JSON-encoded query value such as `filters={"label":["mini.app"]}`.
    static func jsonQueryValue(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func url(path: String, query: [QueryItem]) -> String {
        var url = "http+unix://\(Self.percentEncoded(socketPath))\(path)"
        if !query.isEmpty {
            url +=
                "?"
                + query.map { "\(Self.percentEncoded($0.name))=\(Self.percentEncoded($0.value))" }
                .joined(separator: "&")
        }
        return url
    }

    /// A container id or name, or an image reference, as a path segment (`/` and `:` of an
    /// image reference kept, the engine's routes expect them).
    static func pathSegment(_ reference: String) -> String {
        percentEncoded(reference, keeping: [UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "@")])
    }

    /// Encodes everything but RFC 3986 unreserved characters (and `kept`), so `/`, `+`, `&`
    /// and `=` in a query value survive the engine's form decoding.
    static func percentEncoded(_ text: String, keeping kept: Set<UInt8> = []) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where kept.contains(byte):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += byte < 0x10 ? "%0\(hex)" : "%\(hex)"
            }
        }
        return encoded
    }
}
