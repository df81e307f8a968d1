/// Which output of a container a log line came from.
public enum LogStream: String, Sendable, Hashable, Codable {
    case stdin
    case stdout
    case stderr

    /// The stream type byte of a multiplexed frame header.
    init?(frameType: UInt8) {
        switch frameType {
        case 0: self = .stdin
        case 1: self = .stdout
        case 2: self = .stderr
        default: return nil
        }
    }
}

/// One line of a container's output, without its trailing newline.
public struct LogLine: Sendable, Hashable, Codable {
    public var stream: LogStream
    public var text: String

    public init(stream: LogStream, text: String) {
        self.stream = stream
        self.text = text
    }
}
