import API
import Proxy

extension ProxyServer {
    /// Appends the proxy's counters to `/metrics`: requests per app by status class, their
    /// latency per app, and requests in flight per upstream.
    @Sendable func appendMetrics(to text: inout PrometheusText) async {
        let statistics = await statistics()
        var samples: [(labels: String, value: Double)] = []
        let classes: [(String, KeyPath<StatusClassCounts, Int>)] = [
            ("1xx", \.informational), ("2xx", \.successful), ("3xx", \.redirection), ("4xx", \.clientError),
            ("5xx", \.serverError), ("maintenance", \.maintenance),
        ]
        for (app, counts) in statistics.routes.sorted(by: { $0.key < $1.key }) {
            for (name, path) in classes {
                samples.append(
                    (
                        labels: "{app=\"\(PrometheusText.escape(app))\",status=\"\(name)\"}",
                        value: Double(counts[keyPath: path])
                    )
                )
            }
        }
        for (name, path) in classes {
            samples.append((labels: "{app=\"\",status=\"\(name)\"}", value: Double(statistics.unrouted[keyPath: path])))
        }
        text.counter(
            "mini_proxy_requests_total",
            help: "Requests the proxy answered, by app and status class (maintenance: maintenance pages, not in 5xx).",
            samples)
        text.histogram(
            "mini_proxy_request_duration_seconds",
            help: "Time from a request's head to the end of its response, by app.",
            buckets: LatencyHistogram.bounds,
            series: statistics.latencies.sorted(by: { $0.key < $1.key }).map { app, histogram in
                HistogramSeries(
                    labels: "app=\"\(PrometheusText.escape(app))\"", cumulativeCounts: histogram.cumulativeCounts,
                    count: histogram.count,
                    sum: histogram.sum
                )
            }
        )
        text.gauge(
            "mini_proxy_in_flight", help: "Requests in flight per upstream.",
            statistics.inFlight.sorted { $0.key.description < $1.key.description }.map {
                (labels: "{upstream=\"\(PrometheusText.escape($0.key.description))\"}", value: Double($0.value))
            }
        )
    }
}
