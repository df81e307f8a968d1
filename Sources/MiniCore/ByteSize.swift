/// Sizes as people write them: `512m`, `2g`, `64k` (or `512mb`, as Docker takes them) or a
/// plain number of bytes.
public enum ByteSize {
    /// The number of bytes, or nil when `text` is not a size of at least one byte that fits
    /// in an `Int64`.
    public static func parse(_ text: String) -> Int64? {
        var lower = text.lowercased()
        // As Docker takes them: `64mb` and `64m`, `512b` and `512`.
        if lower.hasSuffix("b") { lower.removeLast() }
        let units: [(suffix: String, factor: Int64)] = [("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)]
        for unit in units where lower.hasSuffix(unit.suffix) {
            guard let value = Double(lower.dropLast()) else { return nil }
            // Also refuses NaN and infinity ("nanm", "infg"), which compare false.
            let bytes = value * Double(unit.factor)
            guard bytes >= 1, bytes < 0x1p63 else { return nil }
            return Int64(bytes)
        }
        guard let value = Int64(lower), value > 0 else { return nil }
        return value
    }

    /// `256m`-style text for a size in bytes (whole MiB).
    public static func format(_ bytes: Int64) -> String {
        "\(bytes / (1 << 20))m"
    }
}
