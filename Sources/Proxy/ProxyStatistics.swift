/// Responses counted by status class.
public struct StatusClassCounts: Sendable, Hashable {
    /// 1xx answers other than protocol switches (which count as 1xx too).
    public var informational = 0
    /// 2xx answers.
    public var successful = 0
    /// 3xx answers.
    public var redirection = 0
    /// 4xx answers (including the proxy's own 404 and 431).
    public var clientError = 0
    /// 5xx answers (including the proxy's own 502, 503 and 504).
    public var serverError = 0
    /// Maintenance pages (503) of an app in maintenance mode: planned, so apart from
    /// ``serverError``, which alerts watch (as Heroku's router logs them as H80, "not an error").
    public var maintenance = 0

    public init() {}

    /// All answers counted.
    public var total: Int { informational + successful + redirection + clientError + serverError + maintenance }

    mutating func count(statusCode: Int) {
        switch statusCode {
        case ..<200: informational += 1
        case ..<300: successful += 1
        case ..<400: redirection += 1
        case ..<500: clientError += 1
        default: serverError += 1
        }
    }

    mutating func add(_ other: StatusClassCounts) {
        informational += other.informational
        successful += other.successful
        redirection += other.redirection
        clientError += other.clientError
        serverError += other.serverError
        maintenance += other.maintenance
    }
}

/// A snapshot of the proxy's counters, summed over its event loops.
public struct ProxyStatistics: Sendable, Hashable {
    /// Route name (the app name, or the host of a static route) → answers by status class.
    public var routes: [String: StatusClassCounts] = [:]
    /// Route name → how long its answers took.
    public var latencies: [String: LatencyHistogram] = [:]
    /// Requests whose host matched no route (answered 404, or 400 without a `Host`).
    public var unrouted = StatusClassCounts()
    /// Requests being forwarded right now, and open tunnels, per upstream.
    public var inFlight: [Upstream: Int] = [:]

    public init() {}

    mutating func merge(_ other: ProxyStatistics) {
        routes.merge(other.routes) { mine, theirs in
            var sum = mine
            sum.add(theirs)
            return sum
        }
        latencies.merge(other.latencies) { mine, theirs in
            var sum = mine
            sum.add(theirs)
            return sum
        }
        unrouted.add(other.unrouted)
        inFlight.merge(other.inFlight, uniquingKeysWith: +)
    }
}

/// One route's counters on one event loop; touched only on that loop, so no atomics are needed.
final class RouteCounters {
    var counts = StatusClassCounts()
    var latency = LatencyHistogram()
}

/// Time from a request's head to the end of its response, counted into fixed buckets (the
/// Prometheus default ones), so that recording costs one comparison loop and no allocation.
public struct LatencyHistogram: Sendable, Hashable {
    /// The buckets' upper bounds in seconds, ascending; the last bucket, above them, is +Inf.
    public static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Observations per bucket (not cumulative), one more than ``bounds`` for +Inf.
    private var buckets = [Int](repeating: 0, count: LatencyHistogram.bounds.count + 1)
    /// All observations.
    public private(set) var count = 0
    /// The sum of all observations, in seconds.
    public private(set) var sum = 0.0

    public init() {}

    /// Observations at or below each of ``bounds``, as Prometheus buckets count them.
    public var cumulativeCounts: [Int] {
        var total = 0
        return Self.bounds.indices.map { index in
            total += buckets[index]
            return total
        }
    }

    mutating func record(seconds: Double) {
        let index = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
        buckets[index] += 1
        count += 1
        sum += seconds
    }

    mutating func add(_ other: LatencyHistogram) {
        for index in buckets.indices {
            buckets[index] += other.buckets[index]
        }
        count += other.count
        sum += other.sum
    }
}
