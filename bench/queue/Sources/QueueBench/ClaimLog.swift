import Foundation

/// The claim log of one worker process: a file of ``ClaimRecord`` lines.
///
/// Records are buffered and written in blocks so that logging costs the measured loop
/// almost nothing; a worker that may be killed (``flushesEveryRecord``) writes each record
/// at once, so that its claim is on disk before anyone can kill it.
final class ClaimLog {
    /// The file name extension of claim logs; the coordinator reads every such file.
    static let fileExtension = "claims"

    private let handle: FileHandle
    private let flushesEveryRecord: Bool
    private var buffer = ""

    /// Creates (or truncates) the log at `path`.
    init(path: String, flushesEveryRecord: Bool) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw BenchError("cannot create the claim log \(path); check that its folder exists and is writable")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.flushesEveryRecord = flushesEveryRecord
    }

    deinit {
        try? flush()
        try? handle.close()
    }

    func append(_ record: ClaimRecord) throws {
        buffer += record.line
        buffer += "\n"
        if flushesEveryRecord || buffer.utf8.count >= 1 << 16 {
            try flush()
        }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: Data(buffer.utf8))
        buffer = ""
    }

    /// Every record of every claim log in `directory`.
    static func records(in directory: String) throws -> [ClaimRecord] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return try names.filter { $0.hasSuffix("." + fileExtension) }.flatMap { name in
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            return try text.split(separator: "\n").map { line in
                guard let record = ClaimRecord(line: line) else {
                    throw BenchError("unreadable line in claim log \(name): \(line)")
                }
                return record
            }
        }
    }
}
