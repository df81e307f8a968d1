import Archive
import Foundation

/// Renders a deploy's upload: a live bar on a terminal, one summary line otherwise.
///
/// `@unchecked Sendable` is safe: the only mutable state, `latest`, is read and written with
/// `lock` held.
final class UploadProgress: @unchecked Sendable {
    private let isTerminal: Bool
    private let start = ContinuousClock.now
    private let lock = NSLock()
    private var latest: TarProgress?

    init(isTerminal: Bool = Terminal.stderrIsTerminal) { self.isTerminal = isTerminal }

    /// The ``TarStream`` progress hook: redraws the bar (each ~64 KiB chunk).
    func update(_ progress: TarProgress) {
        lock.withLock { latest = progress }
        if isTerminal {
            Terminal.errorInPlace("\r" + Self.bar(progress, elapsed: ContinuousClock.now - start))
        }
    }

    /// Ends the bar's line; after a successful upload, also prints the summary line.
    func finish(uploaded: Bool) {
        guard let progress = lock.withLock({ latest }) else { return }
        let elapsed = ContinuousClock.now - start
        if isTerminal { Terminal.errorInPlace("\r" + Self.bar(progress, elapsed: elapsed) + "\n") }
        if uploaded { Terminal.error(Self.summary(progress, elapsed: elapsed)) }
    }

    /// `[#########           ]  45%  12.3 MB / 27.0 MB  5.1 MB/s`
    static func bar(_ progress: TarProgress, elapsed: Duration, width: Int = 24) -> String {
        let filled = Int((progress.fraction * Double(width)).rounded(.down))
        let percent = Int((progress.fraction * 100).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let rate = rate(Double(progress.archiveBytes), elapsed)
        return "[\(bar)] \(String(percent).leftPadded(to: 3))%  \(bytes(progress.archiveBytes)) / "
            + "\(bytes(progress.totalArchiveBytes))  \(rate)"
    }

    /// `uploaded 27.0 MB as 5.1 MB of gzip in 1.2 s (22.5 MB/s)`
    static func summary(_ progress: TarProgress, elapsed: Duration) -> String {
        "uploaded \(bytes(progress.archiveBytes)) as \(bytes(progress.outputBytes)) of gzip in "
            + "\(String(format: "%.1f", seconds(elapsed))) s (\(rate(Double(progress.archiveBytes), elapsed)))"
    }

    /// Decimal units, as network rates are counted: `950 B`, `12.3 kB`, `4.0 MB`, `1.2 GB`.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    private static func rate(_ bytes: Double, _ elapsed: Duration) -> String {
        let seconds = max(seconds(elapsed), 0.001)
        return self.bytes(Int64(bytes / seconds)) + "/s"
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: " ", count: max(width - count, 0)) + self
    }
}
