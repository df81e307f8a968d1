import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The API while another connection (another minid process, an operator's `sqlite3`) holds
/// SQLite's write lock: writes wait for it, reads go on.
@Suite("database lock")
struct DatabaseLockTests {
    @Test(
        "writes waiting for a write lock held elsewhere do not hold up reads: the store runs off the cooperative pool")
    func writesWaitingDoNotStallReads() async throws {
        let fixture = try await APITests.Fixture()
        defer { fixture.cleanup() }
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let holder = try DatabaseQueue(path: fixture.directory.databasePath, configuration: configuration)
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE TRANSACTION") }
        let lockHeld = ContinuousClock.now

        try await fixture.app.test(.router) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                // More waiting writes than this machine has cores, so that with blocking
                // calls every thread of the cooperative pool would wait in SQLite.
                for index in 0..<(2 * ProcessInfo.processInfo.activeProcessorCount + 2) {
                    group.addTask {
                        let body = ByteBuffer(string: #"{"name": "app-\#(index)"}"#)
                        return try await client.execute(
                            uri: "/v1/apps", method: .post, headers: fixture.auth, body: body
                        ) { $0.status }
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                let readStart = ContinuousClock.now
                try await client.execute(uri: "/v1/apps", method: .get, headers: fixture.auth) { response in
                    #expect(response.status == .ok)
                }
                let read = ContinuousClock.now - readStart
                let lockedFor = ContinuousClock.now - lockHeld
                #expect(read < .seconds(1), "a read waited \(read) behind writes waiting for the lock")
                #expect(lockedFor < .seconds(3), "the read must be measured while the lock is held")
                try await Task.sleep(until: lockHeld.advanced(by: .seconds(3)))
                try await holder.writeWithoutTransaction { db in try db.execute(sql: "COMMIT TRANSACTION") }
                for try await status in group {
                    #expect(status == .created, "a write that waited for the lock must then succeed")
                }
            }
        }
    }
}
