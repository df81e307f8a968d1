import GRDB

extension MiniDatabase {
    /// The schema, one migration per change; never edit a migration once it has shipped.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE apps (
                        name TEXT PRIMARY KEY NOT NULL,
                        created_at REAL NOT NULL,
                        current_release INTEGER,
                        instances INTEGER NOT NULL DEFAULT 1,
                        health_path TEXT,
                        memory_bytes INTEGER,
                        nano_cpus INTEGER
                    );
                    CREATE TABLE releases (
                        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                        version INTEGER NOT NULL,
                        image TEXT NOT NULL,
                        container_port INTEGER NOT NULL,
                        env_json TEXT NOT NULL DEFAULT '{}',
                        instances INTEGER NOT NULL DEFAULT 1,
                        job_id INTEGER,
                        description TEXT NOT NULL DEFAULT '',
                        created_at REAL NOT NULL,
                        PRIMARY KEY (app, version)
                    );
                    CREATE TABLE env (
                        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                        key TEXT NOT NULL,
                        value TEXT NOT NULL,
                        PRIMARY KEY (app, key)
                    );
                    CREATE TABLE instances (
                        name TEXT PRIMARY KEY NOT NULL,
                        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                        release INTEGER NOT NULL,
                        container_id TEXT,
                        host TEXT NOT NULL DEFAULT '127.0.0.1',
                        port INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE INDEX instances_by_app ON instances(app, state);
                    CREATE TABLE tokens (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        hash TEXT NOT NULL UNIQUE,
                        created_at REAL NOT NULL
                    );
                    CREATE TABLE jobs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        app TEXT NOT NULL,
                        state TEXT NOT NULL,
                        attempt INTEGER NOT NULL DEFAULT 0,
                        max_attempts INTEGER NOT NULL DEFAULT 3,
                        run_at REAL NOT NULL,
                        lease_owner TEXT,
                        lease_token TEXT,
                        lease_expires_at REAL,
                        heartbeat_at REAL,
                        lease_expiries INTEGER NOT NULL DEFAULT 0,
                        queued_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        error TEXT,
                        reason TEXT,
                        upload_path TEXT,
                        upload_bytes INTEGER NOT NULL DEFAULT 0,
                        release INTEGER
                    );
                    CREATE INDEX jobs_ready ON jobs(state, run_at, id);
                    CREATE INDEX jobs_by_app ON jobs(app, state, id);
                    CREATE TABLE job_attempts (
                        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                        attempt INTEGER NOT NULL,
                        owner TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        ended_at REAL,
                        outcome TEXT,
                        PRIMARY KEY (job_id, attempt)
                    );
                    """
            )
        }
        migrator.registerMigration("v2: release jobs") { db in
            try db.execute(
                sql: """
                    ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'deploy';
                    ALTER TABLE jobs ADD COLUMN payload TEXT;
                    """
            )
        }
        migrator.registerMigration("v3: narrow queue indexes, job_attempts without rowid") { db in
            // A claim moves a job from `queued` to `running`, a completion from `running` to
            // an end state. Indexes with `state` in their key (`jobs_ready`, `jobs_by_app`)
            // moved in both, on pages of their own: about a third of the WAL pages a job
            // wrote. Partial indexes hold only the rows a hot statement looks for, so a state
            // change touches one small, always cached page of each, and an ended job none.
            try db.execute(
                sql: """
                    DROP INDEX jobs_ready;
                    DROP INDEX jobs_by_app;
                    CREATE INDEX jobs_queued ON jobs(run_at, id) WHERE state = 'queued';
                    CREATE INDEX jobs_running ON jobs(app, lease_expires_at) WHERE state = 'running';
                    CREATE INDEX jobs_by_app ON jobs(app, id);
                    CREATE TABLE job_attempts_v3 (
                        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                        attempt INTEGER NOT NULL,
                        owner TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        ended_at REAL,
                        outcome TEXT,
                        PRIMARY KEY (job_id, attempt)
                    ) WITHOUT ROWID;
                    INSERT INTO job_attempts_v3 SELECT job_id, attempt, owner, started_at, ended_at, outcome FROM job_attempts;
                    DROP TABLE job_attempts;
                    ALTER TABLE job_attempts_v3 RENAME TO job_attempts;
                    """
            )
        }
        migrator.registerMigration("v4: when an instance started draining") { db in
            // The reconciler removes a draining instance only once its worker has clearly
            // given up on it; before, it raced the worker waiting for requests in flight.
            try db.execute(sql: "ALTER TABLE instances ADD COLUMN draining_since REAL")
        }
        migrator.registerMigration("v5: custom domains") { db in
            try db.execute(
                sql: """
                    CREATE TABLE domains (
                        host TEXT PRIMARY KEY NOT NULL,
                        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                        created_at REAL NOT NULL
                    );
                    CREATE INDEX domains_by_app ON domains(app);
                    """
            )
        }
        migrator.registerMigration("v6: cancel requests") { db in
            // Cancelling a running job asks its worker to stop; the job stays running, and
            // its app busy, until the worker has removed what it started.
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN cancel_requested_at REAL")
        }
        migrator.registerMigration("v7: the limits of a release") { db in
            // With its env and instances, a release records the limits it runs with, so that a
            // change is measured against what runs (releases made before say none).
            try db.execute(
                sql: """
                    ALTER TABLE releases ADD COLUMN memory_bytes INTEGER;
                    ALTER TABLE releases ADD COLUMN nano_cpus INTEGER;
                    UPDATE releases SET
                        memory_bytes = (SELECT memory_bytes FROM apps WHERE apps.name = releases.app),
                        nano_cpus = (SELECT nano_cpus FROM apps WHERE apps.name = releases.app)
                    WHERE EXISTS (
                        SELECT 1 FROM apps WHERE apps.name = releases.app AND apps.current_release = releases.version);
                    """
            )
        }
        migrator.registerMigration("v8: release commands") { db in
            // A command run in the new image before each deploy's release takes traffic
            // (migrations), as a JSON array of its arguments; none when null.
            try db.execute(sql: "ALTER TABLE apps ADD COLUMN release_command_json TEXT")
        }
        migrator.registerMigration("v9: queued jobs by app") { db in
            // A claim takes an app's queued jobs in the order they were queued: a job handed
            // back or waiting out a retry's backoff holds back the app's later ones.
            try db.execute(sql: "CREATE INDEX jobs_queued_by_app ON jobs(app, id) WHERE state = 'queued'")
        }
        migrator.registerMigration("v10: installation") { db in
            // Labels every container this installation creates (`mini.installation`), so that
            // another mini on the same Docker engine never takes them for its own.
            try db.execute(
                sql: """
                    CREATE TABLE installation (id TEXT NOT NULL);
                    INSERT INTO installation (id) VALUES (lower(hex(randomblob(8))));
                    """)
        }
        migrator.registerMigration("v11: app removals") { db in
            // Apps destroyed whose containers and images may not all be gone yet: the destroy
            // removes its row once it removed them; the reconciler finishes one it did not.
            try db.execute(sql: "CREATE TABLE app_removals (app TEXT PRIMARY KEY, requested_at REAL NOT NULL)")
        }
        migrator.registerMigration("v12: cancel reasons") { db in
            // Why a running job was asked to stop, its reason once its worker has stopped
            // (nil: a user cancelled it).
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN cancel_reason TEXT")
        }
        migrator.registerMigration("v13: job time histograms") { db in
            try createJobTimeHistograms(in: db)
        }
        migrator.registerMigration("v14: dockerfile paths") { db in
            // A deploy's Dockerfile, relative to its context; NULL for `Dockerfile`.
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN dockerfile TEXT")
        }
        migrator.registerMigration("v15: maintenance mode") { db in
            // 1 while the proxy answers the app's requests with its maintenance page.
            try db.execute(sql: "ALTER TABLE apps ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v16: who asked") { db in
            // The name of the API token that queued a job, and so made its release.
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN requested_by TEXT")
            try db.execute(sql: "ALTER TABLE releases ADD COLUMN created_by TEXT")
        }
        migrator.registerMigration("v17: token scopes") { db in
            // The app patterns a token is limited to, space-separated (NULL: every app), and
            // when it stops working (NULL: never).
            try db.execute(sql: "ALTER TABLE tokens ADD COLUMN apps TEXT")
            try db.execute(sql: "ALTER TABLE tokens ADD COLUMN expires_at REAL")
        }
        return migrator
    }
}

/// The tables and triggers of ``JobTimeMetric``: per-bucket counts (cumulative: an
/// observation counts in every bucket whose bound it is at or below) and totals, seeded from
/// the jobs kept; each trigger observes a job once, when its value is first there.
private func createJobTimeHistograms(in db: Database) throws {
    try db.execute(
        sql: """
            CREATE TABLE job_time_buckets (
                metric TEXT NOT NULL, le REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (metric, le)
            ) WITHOUT ROWID;
            CREATE TABLE job_time_totals (metric TEXT PRIMARY KEY, count INTEGER NOT NULL, sum REAL NOT NULL);
            """)
    for metric in JobTimeMetric.allCases {
        let kept = "FROM jobs WHERE \(metric.isObservable("jobs"))"
        for bound in metric.buckets {
            try db.execute(
                sql: "INSERT INTO job_time_buckets SELECT ?, ?, COUNT(*) \(kept) AND \(metric.value(of: "jobs")) <= ?",
                arguments: [metric.rawValue, bound, bound])
        }
        try db.execute(
            sql:
                "INSERT INTO job_time_totals SELECT ?, COUNT(*), COALESCE(SUM(\(metric.value(of: "jobs"))), 0) \(kept)",
            arguments: [metric.rawValue])
        try db.execute(
            sql: """
                CREATE TRIGGER job_\(metric.rawValue)_observed AFTER UPDATE OF \(metric.observedColumn) ON jobs
                WHEN OLD.\(metric.observedColumn) IS NULL AND \(metric.isObservable("NEW"))
                BEGIN
                    UPDATE job_time_buckets SET count = count + 1
                    WHERE metric = '\(metric.rawValue)' AND le >= \(metric.value(of: "NEW"));
                    UPDATE job_time_totals SET count = count + 1, sum = sum + \(metric.value(of: "NEW"))
                    WHERE metric = '\(metric.rawValue)';
                END
                """)
    }
}
