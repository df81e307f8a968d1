/// Writes metrics in the Prometheus text exposition format (version 0.0.4).
public struct PrometheusText: Sendable {
    public private(set) var text = ""

    public init() {}

    /// A gauge with one sample per label set (`{key="value"}`, or empty).
    public mutating func gauge(_ name: String, help: String, _ samples: [(labels: String, value: Double)]) {
        sampled(name, help: help, type: "gauge", samples)
    }

    public mutating func gauge(_ name: String, help: String, _ value: Double) {
        gauge(name, help: help, [(labels: "", value: value)])
    }

    /// A counter with one sample per label set.
    public mutating func counter(_ name: String, help: String, _ samples: [(labels: String, value: Double)]) {
        sampled(name, help: help, type: "counter", samples)
    }

    private mutating func sampled(
        _ name: String, help: String, type: String, _ samples: [(labels: String, value: Double)]
    ) {
        header(name, help: help, type: type)
        for sample in samples {
            text += "\(name)\(sample.labels) \(format(sample.value))\n"
        }
    }

    /// A histogram whose observations were counted into `buckets` (upper bounds, ascending)
    /// already, one series per label set.
    public mutating func histogram(_ name: String, help: String, buckets: [Double], series: [HistogramSeries]) {
        header(name, help: help, type: "histogram")
        for series in series {
            let labels = series.labels.isEmpty ? "" : series.labels + ","
            for (bound, count) in zip(buckets, series.cumulativeCounts) {
                text += "\(name)_bucket{\(labels)le=\"\(format(bound))\"} \(count)\n"
            }
            text += "\(name)_bucket{\(labels)le=\"+Inf\"} \(series.count)\n"
            let braced = series.labels.isEmpty ? "" : "{\(series.labels)}"
            text += "\(name)_sum\(braced) \(format(series.sum))\n"
            text += "\(name)_count\(braced) \(series.count)\n"
        }
    }

    /// A label value escaped for the exposition format: `\`, `"` and line feeds.
    public static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    private mutating func header(_ name: String, help: String, type: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// One labelled series of a histogram.
public struct HistogramSeries: Sendable {
    /// `key="value"` pairs, comma-separated, without braces; empty for none.
    public var labels: String
    /// Observations at or below each bucket bound, in bucket order.
    public var cumulativeCounts: [Int]
    /// All observations.
    public var count: Int
    /// The sum of all observations.
    public var sum: Double

    public init(labels: String, cumulativeCounts: [Int], count: Int, sum: Double) {
        self.labels = labels
        self.cumulativeCounts = cumulativeCounts
        self.count = count
        self.sum = sum
    }
}
