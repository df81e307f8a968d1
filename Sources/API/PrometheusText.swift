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

    /// A histogram of `values` over `buckets` (upper bounds, ascending).
    public mutating func histogram(_ name: String, help: String, buckets: [Double], values: [Double]) {
        header(name, help: help, type: "histogram")
        for bound in buckets {
            text += "\(name)_bucket{le=\"\(format(bound))\"} \(values.filter { $0 <= bound }.count)\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(values.count)\n"
        text += "\(name)_sum \(format(values.reduce(0, +)))\n"
        text += "\(name)_count \(values.count)\n"
    }

    private mutating func header(_ name: String, help: String, type: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
