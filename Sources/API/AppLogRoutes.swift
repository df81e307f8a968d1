import Docker
import Foundation
import Hummingbird
import MiniCore
import NIOCore
import Store

/// `GET /v1/apps/{app}/logs?follow=1&tail=N`: stdout and stderr of all instances, each line
/// prefixed with its instance; when following, instances that appear later (a redeploy, a
/// scale-up) are followed too.
struct AppLogRoutes {
    let apps: AppStore
    let docker: DockerClient

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.get("apps/:app/logs", use: logs)
    }

    @Sendable func logs(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try context.parameters.appName()
        _ = try apps.existingApp(name)
        let query = request.uri.queryParameters
        let follow = ["1", "true", "yes"].contains(query["follow"].map(String.init) ?? "")
        let tail = query["tail"].flatMap { Int($0) }.map { min(max($0, 0), 10_000) } ?? 100
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        let apps = apps
        let docker = docker
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let lines = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
                let producer = Task {
                    await Self.produce(
                        app: name, apps: apps, docker: docker, follow: follow, tail: tail, into: lines.continuation)
                }
                defer { producer.cancel() }
                for await line in lines.stream {
                    try await writer.write(line)
                }
                try await writer.finish(nil)
            }
        )
    }

    /// Reads every instance's log into `output`; when following, looks for new instances
    /// every second until cancelled (the client went away).
    private static func produce(
        app: AppName, apps: AppStore, docker: DockerClient, follow: Bool, tail: Int,
        into output: AsyncStream<ByteBuffer>.Continuation
    ) async {
        await withTaskGroup(of: Void.self) { group in
            var followed = Set<String>()
            repeat {
                let instances = (try? apps.instances(of: app)) ?? []
                for instance in instances where !followed.contains(instance.name) {
                    followed.insert(instance.name)
                    let container = instance.containerId ?? instance.name
                    group.addTask {
                        await copyLines(
                            of: instance.name, container: container, docker: docker, follow: follow,
                            tail: tail, into: output
                        )
                    }
                }
                if follow { try? await Task.sleep(for: .seconds(1)) }
            } while follow && !Task.isCancelled
            await group.waitForAll()
        }
        output.finish()
    }

    private static func copyLines(
        of instance: String, container: String, docker: DockerClient, follow: Bool, tail: Int,
        into output: AsyncStream<ByteBuffer>.Continuation
    ) async {
        do {
            for try await line in docker.containerLogs(container, follow: follow, tail: tail) {
                output.yield(ByteBuffer(string: "[\(instance)] \(line.text)\n"))
            }
        } catch is CancellationError {
        } catch {
            output.yield(ByteBuffer(string: "[\(instance)] (log unavailable: \(error))\n"))
        }
    }
}
