/// Sizes as people write them: `512m`, `2g`, `64k`, or a plain number of bytes, with Docker's
/// optional `i` and `b` (`512mb`, `512MiB`).
public enum ByteSize {
    /// The units, smallest first.
    private static let units: [(suffix: String, factor: Int64)] = [("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)]

    /// The number of bytes, or nil when `text` is not a size of at least one byte that fits
    /// in an `Int64`: digits with at most one `.` (no sign, exponent or hex), then a unit.
    public static func parse(_ text: String) -> Int64? {
        var lower = text.lowercased()
        if lower.hasSuffix("b") { lower.removeLast() }
        for unit in units {
            for suffix in [unit.suffix, unit.suffix + "i"] where lower.hasSuffix(suffix) {
                let number = lower.dropLast(suffix.count)
                guard isDecimal(number), let value = Double(number) else { return nil }
                let bytes = value * Double(unit.factor)
                guard bytes >= 1, bytes < 0x1p63 else { return nil }
                return Int64(bytes)
            }
        }
        guard isDecimal(lower[...]), !lower.contains("."), let value = Int64(lower), value > 0 else { return nil }
        return value
    }

    /// Digits with at most one `.` between or after them.
    private static func isDecimal(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && !(parts.first ?? "").isEmpty
            && parts.allSatisfy { $0.allSatisfy { ("0"..."9").contains($0) } }
    }

    /// `256m`-style text for a size in bytes, in the largest unit it reaches: exact when the
    /// unit divides it (`128k`, `256m`), else to a tenth by `rule` (`1.5g`, `128.1k`; the
    /// nearest by default, so that `1.1g`, which ``parse(_:)`` cuts to whole bytes, shows as
    /// given); below 1 KiB in bytes (`500b`). ``parse(_:)`` reads it back.
    public static func format(
        _ bytes: Int64, rounding rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero
    ) -> String {
        guard let unit = units.last(where: { bytes >= $0.factor }) else { return "\(bytes)b" }
        if bytes % unit.factor == 0 { return "\(bytes / unit.factor)\(unit.suffix)" }
        return "\((Double(bytes) / Double(unit.factor) * 10).rounded(rule) / 10)\(unit.suffix)"
    }
}
