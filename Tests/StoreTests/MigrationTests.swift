import Foundation
import Store
import Synchronization
import Testing

@Suite("migrations")
struct MigrationTests {
    @Test(
        "opening a new database from several threads at once (as the processes of a systemd start do) migrates it once"
    )
    func concurrentFirstOpens() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for round in 1...5 {
            let path = folder.appendingPathComponent("round-\(round).sqlite").path
            // Threads of their own, not the two of the cooperative pool: each opens the
            // database on its own connections, as the API and worker processes of a systemd
            // start do.
            let failures = Mutex<[String]>([])
            let installations = Mutex<Set<String>>([])
            let threads = (1...4).map { _ in
                Thread {
                    do {
                        let database = try MiniDatabase(path: path)
                        installations.withLock { _ = $0.insert(database.installation.id) }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
            for thread in threads { thread.start() }
            while threads.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.01) }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round): \(failures.withLock { $0 })")
            #expect(installations.withLock { $0 }.count == 1, "round \(round): the installation id was made twice")
        }
    }
}
