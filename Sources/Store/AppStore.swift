import Foundation
import GRDB
import MiniCore

/// Apps, their releases, environment and instances. The functions that take a `Database`
/// compose inside a caller's transaction (such as a worker's lease-fenced write).
public struct AppStore: Sendable {
    public let database: MiniDatabase

    public init(database: MiniDatabase) {
        self.database = database
    }

    /// All apps, by name.
    public func apps() async throws -> [AppRecord] {
        try await database.read { db in try AppRecord.order(Column("name")).fetchAll(db) }
    }

    /// One app, or nil.
    public func app(_ name: AppName) async throws -> AppRecord? {
        try await database.read { db in try AppRecord.fetchOne(db, key: name.rawValue) }
    }

    /// The releases of an app, newest first.
    public func releases(of app: AppName) async throws -> [ReleaseRecord] {
        try await database.read { db in
            try ReleaseRecord.filter(Column("app") == app.rawValue).order(Column("version").desc).fetchAll(db)
        }
    }

    /// The routes the proxy serves: every app, with the instances that serve it.
    public func routes() async throws -> [String: [InstanceRecord]] {
        try await database.read { db in
            var table: [String: [InstanceRecord]] = [:]
            for name in try String.fetchAll(db, sql: "SELECT name FROM apps") {
                table[name] = []
            }
            let serving = try InstanceRecord.filter(Column("state") == InstanceState.serving.rawValue)
                .order(Column("name")).fetchAll(db)
            for instance in serving {
                table[instance.app, default: []].append(instance)
            }
            return table
        }
    }

    /// Custom domains → the app each one serves, for the proxy's routes.
    public func domainRoutes() async throws -> [String: String] {
        try await database.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT host, app FROM domains").map {
                    ($0["host"] as String, $0["app"] as String)
                }
            )
        }
    }

    /// The custom domains of an app, sorted.
    public func domains(of app: AppName) async throws -> [DomainName] {
        try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT host FROM domains WHERE app = ? ORDER BY host", arguments: [app.rawValue]
            )
            .compactMap { try? DomainName($0) }
        }
    }

    /// Adds a custom domain to an app.
    public func addDomain(_ host: DomainName, to app: AppName) async throws -> DomainAddition {
        try await database.write { db in
            if let owner = try String.fetchOne(
                db, sql: "SELECT app FROM domains WHERE host = ?", arguments: [host.rawValue])
            {
                return owner == app.rawValue ? .alreadyThere : .takenByAnotherApp(owner)
            }
            try db.execute(
                sql: "INSERT INTO domains (host, app, created_at) VALUES (?, ?, ?)",
                arguments: [host.rawValue, app.rawValue, Date().timeIntervalSince1970]
            )
            return .added
        }
    }

    /// Removes a custom domain from an app. Returns false when the app did not have it.
    public func removeDomain(_ host: DomainName, from app: AppName) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: "DELETE FROM domains WHERE host = ? AND app = ?", arguments: [host.rawValue, app.rawValue]
            )
            return db.changesCount > 0
        }
    }

    /// The instances of an app, in every state.
    public func instances(of app: AppName) async throws -> [InstanceRecord] {
        try await database.read { db in
            try InstanceRecord.filter(Column("app") == app.rawValue).order(Column("name")).fetchAll(db)
        }
    }

    /// The host ports recorded for instances of every app: the reconciler publishes an
    /// instance on its port again when it recreates it, so no other instance may take one.
    public func recordedPorts() async throws -> Set<Int> {
        try await database.read { db in Set(try Int.fetchAll(db, sql: "SELECT port FROM instances")) }
    }

    /// Creates the app; false, changing nothing, when it exists already.
    public func createApp(_ name: AppName) async throws -> Bool {
        try await database.write { db in try Self.ensureApp(name, in: db) }
    }

    /// Creates the app if it does not exist yet; returns whether it did.
    @discardableResult
    public static func ensureApp(_ name: AppName, in db: Database) throws -> Bool {
        try db.execute(
            sql: "INSERT OR IGNORE INTO apps (name, created_at) VALUES (?, ?)",
            arguments: [name.rawValue, Date().timeIntervalSince1970]
        )
        return db.changesCount > 0
    }

    /// The app's configured environment.
    public static func environment(of app: AppName, in db: Database) throws -> [String: String] {
        let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM env WHERE app = ?", arguments: [app.rawValue])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["key"], $0["value"]) })
    }

    /// Replaces the app's configured environment.
    public static func replaceEnvironment(of app: AppName, with environment: [String: String], in db: Database) throws {
        try db.execute(sql: "DELETE FROM env WHERE app = ?", arguments: [app.rawValue])
        for (key, value) in environment {
            try db.execute(
                sql: "INSERT INTO env (app, key, value) VALUES (?, ?, ?)", arguments: [app.rawValue, key, value])
        }
    }

    /// Makes `target` (the environment a rollback restores) the app's, keeping the changes made
    /// to the app's environment since it was `snapshot`: a key set or unset meanwhile (`mini env
    /// set` while the rollback ran) keeps its new state, for the release job queued with that
    /// change to apply. Returns the environment written.
    @discardableResult
    public static func restoreEnvironment(
        of app: AppName, to target: [String: String], keepingChangesSince snapshot: [String: String],
        in db: Database
    ) throws -> [String: String] {
        let current = try environment(of: app, in: db)
        var restored = target
        for key in Set(current.keys).union(snapshot.keys) where current[key] != snapshot[key] {
            restored[key] = current[key]
        }
        try replaceEnvironment(of: app, with: restored, in: db)
        return restored
    }

    /// Records the next release of `app` (version = last + 1) and returns it.
    public static func createRelease(
        app: AppName, image: String, containerPort: Int, environment: [String: String],
        instances: Int, limits: ResourceLimits, job: JobID?, description: String,
        in db: Database
    ) throws -> ReleaseRecord {
        let last =
            try Int.fetchOne(db, sql: "SELECT MAX(version) FROM releases WHERE app = ?", arguments: [app.rawValue]) ?? 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let requestedBy = try job.flatMap { id in
            try String.fetchOne(db, sql: "SELECT requested_by FROM jobs WHERE id = ?", arguments: [id])
        }
        let release = ReleaseRecord(
            app: app.rawValue, version: last + 1, image: image, containerPort: containerPort,
            envJson: String(decoding: try encoder.encode(environment), as: UTF8.self),
            instances: instances, jobId: job, description: description,
            createdAt: Date().timeIntervalSince1970, memoryBytes: limits.memoryBytes, nanoCpus: limits.nanoCpus,
            createdBy: requestedBy
        )
        try release.insert(db)
        return release
    }

    /// Makes `release` the one that serves: its instances get traffic, every other instance
    /// of the app is marked draining. Returns the draining instances.
    public static func publish(app: AppName, release: Int, in db: Database) throws -> [InstanceRecord] {
        try db.execute(sql: "UPDATE apps SET current_release = ? WHERE name = ?", arguments: [release, app.rawValue])
        try db.execute(
            sql: "UPDATE instances SET state = 'serving' WHERE app = ? AND release = ?",
            arguments: [app.rawValue, release]
        )
        try db.execute(
            sql: """
                UPDATE instances SET state = 'draining', draining_since = COALESCE(draining_since, ?)
                WHERE app = ? AND release != ?
                """,
            arguments: [Date().timeIntervalSince1970, app.rawValue, release]
        )
        return try InstanceRecord.filter(
            Column("app") == app.rawValue && Column("state") == InstanceState.draining.rawValue
        )
        .fetchAll(db)
    }

    /// Whether the app's settings (env, instances, limits) are those its current release runs
    /// with; false when it has no release.
    public func settingsMatchCurrentRelease(of app: AppName) async throws -> Bool {
        try await database.read { db in
            guard let record = try AppRecord.fetchOne(db, key: app.rawValue),
                let version = record.currentRelease,
                let release = try ReleaseRecord.fetchOne(db, key: ["app": app.rawValue, "version": version])
            else { return false }
            let environment = try Self.environment(of: app, in: db)
            return release.instances == record.instances && release.limits == record.limits
                && release.environment == environment
        }
    }

    /// The app's configured environment.
    public func environment(of app: AppName) async throws -> [String: String] {
        try await database.read { db in try Self.environment(of: app, in: db) }
    }

    /// Sets and removes environment variables of an app; returns whether that changed
    /// anything.
    @discardableResult
    public func updateEnvironment(of app: AppName, set: [String: String], unset: [String]) async throws -> Bool {
        try await database.write { db in
            var changes = 0
            for key in unset {
                try db.execute(sql: "DELETE FROM env WHERE app = ? AND key = ?", arguments: [app.rawValue, key])
                changes += db.changesCount
            }
            for (key, value) in set {
                try db.execute(
                    sql: """
                        INSERT INTO env (app, key, value) VALUES (?, ?, ?)
                        ON CONFLICT (app, key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value
                        """,
                    arguments: [app.rawValue, key, value]
                )
                changes += db.changesCount
            }
            return changes > 0
        }
    }

    /// Sets how many instances the app runs; returns whether that changed anything.
    @discardableResult
    public func setInstances(of app: AppName, to count: Int) async throws -> Bool {
        try await update(app, column: .instances, to: count)
    }

    /// Sets the path new instances must answer before they get traffic (nil: the default);
    /// returns whether that changed anything.
    @discardableResult
    public func setHealthPath(of app: AppName, to path: String?) async throws -> Bool {
        try await update(app, column: .healthPath, to: path)
    }

    /// Sets the command each deploy runs before its release takes traffic (nil: none);
    /// returns whether that changed anything.
    @discardableResult
    public func setReleaseCommand(of app: AppName, to command: [String]?) async throws -> Bool {
        let json = try command.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        return try await update(app, column: .releaseCommandJson, to: json)
    }

    /// Turns maintenance mode on or off (the proxy answers the app's requests with its
    /// maintenance page meanwhile); returns whether that changed anything.
    @discardableResult
    public func setMaintenance(of app: AppName, to enabled: Bool) async throws -> Bool {
        try await update(app, column: .maintenance, to: enabled)
    }

    /// The apps in maintenance mode, for the proxy's routes.
    public func appsInMaintenance() async throws -> Set<String> {
        try await database.read { db in Set(try String.fetchAll(db, sql: "SELECT name FROM apps WHERE maintenance")) }
    }

    /// The columns of `apps` that change one at a time.
    private enum SettingColumn: String {
        case instances
        case healthPath = "health_path"
        case releaseCommandJson = "release_command_json"
        case maintenance
    }

    /// Sets one column of the app's row; returns whether that changed anything.
    private func update(
        _ app: AppName, column: SettingColumn, to value: (some DatabaseValueConvertible & Sendable)?
    ) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE apps SET \(column.rawValue) = ? WHERE name = ? AND \(column.rawValue) IS NOT ?",
                arguments: [value, app.rawValue, value]
            )
            return db.changesCount > 0
        }
    }

    /// Changes the limits named (nil keeps one) in one transaction, so that changes made at
    /// once all hold. Returns whether the limits changed, and the limits now (nil when the app
    /// does not exist).
    public func changeLimits(of app: AppName, memoryBytes: LimitChange<Int64>?, nanoCPUs: LimitChange<Int64>?)
        async throws
        -> (changed: Bool, memoryBytes: Int64?, nanoCPUs: Int64?)?
    {
        try await database.write { db in
            guard let record = try AppRecord.fetchOne(db, key: app.rawValue) else { return nil }
            let memory = memoryBytes.map { $0.newValue } ?? record.memoryBytes
            let cpus = nanoCPUs.map { $0.newValue } ?? record.nanoCpus
            try db.execute(
                sql: """
                    UPDATE apps SET memory_bytes = ?, nano_cpus = ?
                    WHERE name = ? AND (memory_bytes IS NOT ? OR nano_cpus IS NOT ?)
                    """,
                arguments: [memory, cpus, app.rawValue, memory, cpus]
            )
            return (db.changesCount > 0, memory, cpus)
        }
    }

    /// Deletes an app with its releases, env, instances and jobs, and notes that its
    /// containers and images are to go; returns the deleted job ids, so their files can go
    /// too, and the note's time (seconds since 1970), to forget it by.
    public func deleteApp(_ app: AppName) async throws -> (jobs: [Int64], requestedAt: Double) {
        let now = Date().timeIntervalSince1970
        let jobs = try await database.write { db in
            let jobs = try Int64.fetchAll(db, sql: "SELECT id FROM jobs WHERE app = ?", arguments: [app.rawValue])
            try db.execute(sql: "DELETE FROM jobs WHERE app = ?", arguments: [app.rawValue])
            try db.execute(sql: "DELETE FROM apps WHERE name = ?", arguments: [app.rawValue])
            try db.execute(
                sql: "INSERT OR REPLACE INTO app_removals (app, requested_at) VALUES (?, ?)",
                arguments: [app.rawValue, now])
            return jobs
        }
        return (jobs, now)
    }

    /// Destroyed apps whose containers and images may remain, destroyed at least `age` ago,
    /// with when each was destroyed (seconds since 1970).
    public func pendingRemovals(olderThan age: Duration) async throws -> [(app: AppName, requestedAt: Double)] {
        let before = Date().timeIntervalSince1970 - Double(age.components.seconds)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT app, requested_at FROM app_removals WHERE requested_at < ? ORDER BY app",
                arguments: [before]
            ).compactMap { row in
                (try? AppName(row["app"])).map { ($0, row["requested_at"]) }
            }
        }
    }

    /// Notes that nothing of the app destroyed at `requestedAt` remains on the engine; the
    /// note of a later destroy of the name stays.
    public func forgetRemoval(of app: AppName, requestedAt: Double) async throws {
        try await database.write { db in
            try db.execute(
                sql: "DELETE FROM app_removals WHERE app = ? AND requested_at = ?",
                arguments: [app.rawValue, requestedAt])
        }
    }

    /// Moves an instance from the state it had when it was read to `state`; returns false,
    /// changing nothing, when the row has moved on since (another process changed its state or
    /// container, or removed it): a decision taken on an old read never undoes a newer one.
    @discardableResult
    public func setState(of instance: InstanceRecord, to state: InstanceState) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE instances SET state = ? WHERE name = ? AND state = ? AND container_id IS ?",
                arguments: [state.rawValue, instance.name, instance.state.rawValue, instance.containerId])
            return db.changesCount > 0
        }
    }

    /// Records the container that now runs an instance, unless the row has moved on since it
    /// was read (see ``setState(of:to:)``); returns whether it was recorded.
    @discardableResult
    public func setContainer(of instance: InstanceRecord, to containerID: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE instances SET container_id = ? WHERE name = ? AND state = ? AND container_id IS ?",
                arguments: [containerID, instance.name, instance.state.rawValue, instance.containerId])
            return db.changesCount > 0
        }
    }

    /// Forgets an instance whose container is gone, unless its row now names another
    /// container: a later attempt of the same job (same instance name) may have taken it over.
    public func removeInstance(_ instance: InstanceRecord) async throws {
        try await database.write { db in
            try db.execute(
                sql: "DELETE FROM instances WHERE name = ? AND container_id IS ?",
                arguments: [instance.name, instance.containerId])
        }
    }
}

/// What ``AppStore/addDomain(_:to:)`` did.
public enum DomainAddition: Sendable {
    case added
    /// The app had the domain already; nothing changed.
    case alreadyThere
    /// Another app, named, has the domain; nothing changed.
    case takenByAnotherApp(String)
}
