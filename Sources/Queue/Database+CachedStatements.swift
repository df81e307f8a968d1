import GRDB

extension Database {
    /// Runs `sql` on a prepared statement that the connection keeps for its lifetime.
    ///
    /// The queue's statements run for every claim, heartbeat and completion; compiling them
    /// each time (SQLite's parser plus GRDB's authorizer, which records every column a
    /// statement touches) cost more than running them.
    func executeCached(_ sql: String, arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
