import Docker
import Foundation
import Hummingbird
import MiniCore
import NIOCore
import Store
import Synchronization

/// `GET /v1/apps/{app}/logs?follow=1&tail=N&timestamps=1&since=T`: stdout and stderr of all
/// instances, each line prefixed with its instance; with `since` (``LogSince``) only the
/// lines written after it. When following, instances that appear later (a redeploy, a
/// scale-up) are followed too, an instance whose container the engine restarts or the
/// reconciler recreates is followed on, and the stream ends once the client has gone.
struct AppLogRoutes {
    let apps: AppStore
    let docker: DockerClient
    let followedStreams: FollowedStreams

    /// Lines waiting for a slow client; beyond it the oldest are dropped, and the client
    /// reads how many.
    static let bufferedLines = 10_000

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.get("apps/:app/logs", use: logs)
    }

    @Sendable func logs(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try context.parameters.appName()
        let created = try await apps.existingApp(name).createdAt
        let follow = request.asksToFollow
        let streamEnd = followedStreams.endCheck(for: request, context: context, in: apps.database)
        let reader = LogReader(
            app: name, apps: apps, docker: docker, follow: follow,
            tail: try request.integerQuery("tail", default: 100, in: 0...10_000),
            since: try request.sinceQuery(),
            timestamps: request.flagQuery("timestamps"),
            endCheck: { [apps] in
                if let line = await streamEnd() { return line }
                // Destroyed (and maybe made again under its name): a store that cannot be read
                // says nothing.
                do {
                    return try await apps.app(name)?.createdAt == created ? nil : FollowedStreamEnd.appDestroyed.line
                } catch {
                    return nil
                }
            }
        )
        return Response.stream(for: request, follow: follow, countedIn: followedStreams) { writer in
            try await reader.copy(to: &writer)
        }
    }
}

/// Reads the logs of an app's instances for one request.
private struct LogReader: Sendable {
    let app: AppName
    let apps: AppStore
    let docker: DockerClient
    let follow: Bool
    let tail: Int
    /// Only lines written after this moment, of the instances running at the first look.
    let since: Date?
    /// Each line starts with the time the engine received it, before the instance's name.
    let timestamps: Bool
    /// Checked every second while following: the stream ends, saying so, once the
    /// request's token is revoked, minid stops or the app is destroyed.
    let endCheck: @Sendable () async -> String?

    /// Writes every line to `writer` until the logs end (or, when following, until cancelled).
    /// Without following, the instances' lines come as one log, in the order they were written.
    func copy(to writer: inout any ResponseBodyWriter) async throws {
        guard follow else {
            let merged = MergedLines()
            await produce(into: merged)
            for batch in merged.inOrder() { try await writer.write(batch) }
            return
        }
        let (lines, continuation) = AsyncStream<ByteBuffer>.makeStream(
            bufferingPolicy: .bufferingNewest(AppLogRoutes.bufferedLines))
        let sink = LineSink(continuation: continuation)
        let producer = Task { await produce(into: sink) }
        defer { producer.cancel() }
        for await line in lines {
            let dropped = sink.takeDropped()
            if dropped > 0 {
                try await writer.write(
                    ByteBuffer(string: "(mini: \(dropped) log lines dropped: the client read too slowly)\n"))
            }
            try await writer.write(line)
        }
    }

    /// Reads every instance's log into `sink`: those running when it starts from their last
    /// `tail` lines. When following, looks at the instances every second: a new one (of a
    /// release, a restart) is followed from its first line, one whose stream ended (its
    /// container stopped, restarted or was recreated) again from where it ended.
    private func produce(into sink: some LogLineTarget) async {
        await withTaskGroup(of: GroupEvent.self) { group in
            var following = Set<String>()
            /// Instances seen so far: any other is new, and shown whole.
            var seen = Set<String>()
            var firstLook = true
            /// Where each instance's next stream starts: where its last one ended.
            var resumeAt: [String: Date] = [:]
            /// Instances whose last stream failed: said once, until one works again.
            var failing = Set<String>()
            func followNewStreams() async {
                for instance in (try? await apps.instances(of: app)) ?? [] where !following.contains(instance.name) {
                    following.insert(instance.name)
                    let start: LogStart =
                        resumeAt[instance.name].map { .after($0) }
                        ?? (firstLook || seen.contains(instance.name) ? .tail(tail, since: since) : .beginning)
                    seen.insert(instance.name)
                    let reportsFailure = !failing.contains(instance.name)
                    group.addTask {
                        let ended = await copyLines(
                            of: instance, from: start, reportsFailure: reportsFailure, into: sink)
                        return .streamEnded(instance: instance.name, ended)
                    }
                }
                firstLook = false
            }
            func tick() {
                group.addTask {
                    try? await Task.sleep(for: .seconds(1))
                    return .tick
                }
            }
            await followNewStreams()
            if follow { tick() }
            while let event = await group.next() {
                switch event {
                case .streamEnded(let instance, let end):
                    following.remove(instance)
                    if let resumeFrom = end.resumeFrom { resumeAt[instance] = resumeFrom }
                    if end.failed {
                        failing.insert(instance)
                    } else {
                        failing.remove(instance)
                    }
                case .tick where !Task.isCancelled:
                    if let line = await endCheck() {
                        sink.yield(line, at: nil)
                        sink.finish()  // the last line: what the streams still yield is dropped
                        group.cancelAll()
                    } else {
                        await followNewStreams()
                        tick()
                    }
                case .tick:
                    break
                }
            }
        }
        sink.finish()
    }

    private enum GroupEvent: Sendable {
        case streamEnded(instance: String, StreamEnd)
        case tick
    }

    /// How an instance's stream ended.
    private struct StreamEnd: Sendable {
        /// Where its next stream starts: when this one ended, or after its last line when
        /// it broke; nil to keep the previous start.
        var resumeFrom: Date?
        /// It broke with an error (said in the stream once).
        var failed: Bool
    }

    /// Where an instance's stream starts.
    private enum LogStart: Sendable {
        /// Its last lines, of those written after a moment when given.
        case tail(Int, since: Date?)
        /// Every line after a moment (where its last stream ended).
        case after(Date)
        /// Its first line (a new instance).
        case beginning
    }

    /// One stream of one instance's container, from `start`. A failure is said in the stream
    /// when `reportsFailure`.
    private func copyLines(
        of instance: InstanceRecord, from start: LogStart, reportsFailure: Bool, into sink: some LogLineTarget
    ) async -> StreamEnd {
        let container = instance.containerId ?? instance.name
        var lastLineAt: Date?
        /// The engine's time of the last line (the time of a long line's later pieces too).
        var lastTime: Substring?
        var since: Date?
        var tail: Int?
        switch start {
        case .tail(let lines, let moment):
            tail = lines
            since = moment
        case .after(let moment): since = moment
        case .beginning: break
        }
        do {
            // Lines to merge are ordered by the engine's times.
            let lines = docker.containerLogs(
                container, follow: follow, tail: tail, since: since, timestamps: timestamps || !follow)
            for try await line in lines {
                if let (time, text) = LogTimestamp.split(line.text) {
                    lastTime = time
                    sink.yield(
                        timestamps ? "\(time) [\(instance.name)] \(text)\n" : "[\(instance.name)] \(text)\n", at: time)
                } else {
                    sink.yield("[\(instance.name)] \(line.text)\n", at: lastTime)
                }
                lastLineAt = Date()
            }
            return StreamEnd(resumeFrom: Date(), failed: false)
        } catch is CancellationError {
            return StreamEnd(resumeFrom: lastLineAt, failed: false)
        } catch let error as DockerError where error.code == .notFound && since != nil {
            // Recreated under a new id meanwhile: the next look finds it.
            return StreamEnd(resumeFrom: lastLineAt, failed: false)
        } catch {
            if reportsFailure { sink.yield("[\(instance.name)] (log unavailable: \(error))\n", at: nil) }
            return StreamEnd(resumeFrom: lastLineAt, failed: true)
        }
    }
}

/// Where the lines of an app's instances go, each with the engine's time of it when known.
protocol LogLineTarget: Sendable {
    func yield(_ line: String, at time: Substring?)
    func finish()
}

/// The lines of every instance, gathered to be written as one log in the order they were
/// written (a log that is not followed).
final class MergedLines: LogLineTarget {
    private struct Line {
        /// ``LogTimestamp/sortKey(_:)`` of its time; lines without one come last.
        var key: String
        var sequence: Int
        var text: String
    }

    private let lines = Mutex<[Line]>([])

    func yield(_ line: String, at time: Substring?) {
        let key = time.map(LogTimestamp.sortKey) ?? "~"
        lines.withLock { $0.append(Line(key: key, sequence: $0.count, text: line)) }
    }

    func finish() {}

    /// The lines by time (an instance's own in the order it wrote them), in writes of up to 64 KiB.
    func inOrder() -> [ByteBuffer] {
        let sorted = lines.withLock { $0 }.sorted { ($0.key, $0.sequence) < ($1.key, $1.sequence) }
        var batches: [ByteBuffer] = []
        var batch = ByteBuffer()
        for line in sorted {
            batch.writeString(line.text)
            if batch.readableBytes >= 64 << 10 {
                batches.append(batch)
                batch = ByteBuffer()
            }
        }
        if batch.readableBytes > 0 { batches.append(batch) }
        return batches
    }
}

/// Where the instances' lines go while they are followed: the stream to the client, which
/// keeps the newest ``AppLogRoutes/bufferedLines`` and counts what it drops.
final class LineSink: LogLineTarget {
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let dropped = Atomic<Int>(0)

    init(continuation: AsyncStream<ByteBuffer>.Continuation) {
        self.continuation = continuation
    }

    func yield(_ line: String, at time: Substring? = nil) {
        if case .dropped = continuation.yield(ByteBuffer(string: line)) {
            dropped.add(1, ordering: .relaxed)
        }
    }

    /// How many lines were dropped since the last call.
    func takeDropped() -> Int {
        dropped.exchange(0, ordering: .relaxed)
    }

    func finish() {
        continuation.finish()
    }
}

/// The time the engine puts before each log line when asked for timestamps.
enum LogTimestamp {
    /// The timestamp (`2026-12-07T13:20:00.123456789Z`) and the rest of `line`, or nil for a
    /// line without one: a piece of a long line (mini cuts lines every 64 KiB) after the first.
    static func split(_ line: String) -> (time: Substring, text: Substring)? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let time = line[..<space]
        guard (20...35).contains(time.utf8.count),
            time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/) != nil
        else { return nil }
        return (time, line[line.index(after: space)...])
    }

    /// A key that orders the engine's times as they follow each other: its fraction of a
    /// second, which the engine writes without trailing zeros, padded to nanoseconds.
    static func sortKey(_ time: Substring) -> String {
        let withoutZone = time.dropLast()  // the Z
        guard let dot = withoutZone.firstIndex(of: ".") else { return withoutZone + ".000000000" }
        let fraction = withoutZone[withoutZone.index(after: dot)...]
        return withoutZone + String(repeating: "0", count: max(0, 9 - fraction.count))
    }
}
