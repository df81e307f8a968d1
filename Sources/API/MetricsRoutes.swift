import Hummingbird
import MiniCore
import Queue
import Store

/// `GET /metrics`: queue depth, running jobs and job durations, in Prometheus text. Read from
/// the store at scrape time, so the numbers cover every worker process.
struct MetricsRoutes {
    let queue: JobQueue
    let followedStreams: FollowedStreams
    let additionalMetrics: (@Sendable (inout PrometheusText) async -> Void)?

    func register(on router: some RouterMethods<MiniRequestContext>) {
        router.get("metrics", use: metrics)
    }

    @Sendable func metrics(request: Request, context: MiniRequestContext) async throws -> Response {
        try context.requireEveryApp("GET /metrics covers every app")
        let statistics = try await queue.statistics()
        var text = PrometheusText()
        text.gauge(
            "mini_jobs", help: "Jobs kept in the queue, by state.",
            JobState.allCases.map { (labels: "{state=\"\($0.rawValue)\"}", value: Double(statistics.jobs[$0] ?? 0)) }
        )
        text.gauge("mini_queue_depth", help: "Queued jobs ready to run.", Double(statistics.ready))
        text.gauge("mini_jobs_running", help: "Jobs being built now.", Double(statistics.jobs[.running] ?? 0))
        for (metric, name, help) in [
            (JobTimeMetric.duration, "mini_job_duration_seconds", "Time from start to end of the jobs that started."),
            (.wait, "mini_job_wait_seconds", "Time from queued to first started of the jobs."),
        ] {
            guard let counts = statistics.times[metric] else { continue }  // statistics() reads every metric
            text.histogram(
                name, help: help, buckets: metric.buckets,
                series: [
                    HistogramSeries(
                        labels: "", cumulativeCounts: counts.cumulativeCounts, count: counts.count, sum: counts.sum)
                ])
        }
        text.gauge(
            "mini_api_followed_streams", help: "Build and app logs that clients follow now.",
            Double(followedStreams.count))
        await additionalMetrics?(&text)
        return PrometheusText.response(text)
    }
}

extension PrometheusText {
    /// `text` as a Prometheus text exposition answer.
    static func response(_ text: PrometheusText) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text.text)))
    }
}
