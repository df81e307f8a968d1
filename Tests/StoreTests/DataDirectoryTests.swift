import Foundation
import Store
import Testing

@Suite("data folder")
struct DataDirectoryTests {
    @Test("the data folder and its sub-folders are made private, also when they existed with a wider mode")
    func privateFolders() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("data-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        // As systemd's StateDirectory= leaves it by default.
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        let directory = DataDirectory(root)
        try directory.create()
        for path in [directory.root, directory.uploadsPath, directory.logsPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o700, "\(path): \(String(mode ?? 0, radix: 8))")
        }
    }
}
