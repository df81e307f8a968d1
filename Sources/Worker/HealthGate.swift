import AsyncHTTPClient
import Docker
import Foundation
import NIOCore

/// Waits until a new instance answers its health check over HTTP on 127.0.0.1 — never a
/// bare TCP connect, which docker-proxy accepts before the app listens.
struct HealthGate {
    let docker: DockerClient
    let httpClient: HTTPClient
    /// The configured path, or nil for `/up` falling back to `/` when `/up` is 404.
    let path: String?
    let timeout: Duration
    /// The wait after the first failed check; it doubles after each, up to ``maxInterval``:
    /// most apps answer within a fraction of a second, and a deploy should not wait a whole
    /// second more for each.
    let firstInterval: Duration = .milliseconds(20)
    let maxInterval: Duration = .seconds(1)
    let requestTimeout: TimeAmount = .seconds(5)

    enum Outcome: Equatable {
        case healthy
        /// The container stopped; its exit code.
        case exited(Int)
        case timedOut(lastProblem: String)
    }

    func wait(containerID: String, port: Int) async throws -> Outcome {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var lastProblem = "no answer yet"
        var interval = firstInterval
        while ContinuousClock.now < deadline {
            switch await probe(port: port) {
            case .success: return .healthy
            case .failure(let problem): lastProblem = problem.message
            }
            let container = try await docker.inspectContainer(containerID)
            if container.state != .running && container.state != .created {
                return .exited(container.exitCode)
            }
            try await Task.sleep(for: interval)
            interval = min(interval * 2, maxInterval)
        }
        return .timedOut(lastProblem: lastProblem)
    }

    private struct Problem: Error { let message: String }

    /// A failed check in words; when nothing answered, with the usual cause.
    static func describe(_ error: any Error) -> String {
        let noAnswer =
            "; nothing answered on the app's port: does it listen on 0.0.0.0 and $PORT? One listening on "
            + "127.0.0.1 inside its container cannot be reached"
        if let error = error as? IOError {
            return "the connection failed (\(String(cString: strerror(error.errnoCode)).lowercased()))" + noAnswer
        }
        if let error = error as? HTTPClientError, error == .remoteConnectionClosed {
            return "the connection closed without an answer" + noAnswer
        }
        return "\(error)"
    }

    private func probe(port: Int) async -> Result<Void, Problem> {
        let paths = path.map { [$0] } ?? ["/up", "/"]
        for candidate in paths {
            do {
                let status = try await httpClient.probe(port: port, path: candidate, timeout: requestTimeout)
                if status.code == 404 && candidate == "/up" && path == nil { continue }
                if (200..<400).contains(status.code) { return .success(()) }
                return .failure(Problem(message: "GET \(candidate) answered \(status.code)"))
            } catch {
                return .failure(Problem(message: "GET \(candidate) failed: \(Self.describe(error))"))
            }
        }
        return .failure(Problem(message: "GET / answered 404"))
    }
}
