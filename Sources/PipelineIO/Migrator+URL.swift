import LibPQ

extension Migrator {
    /// A migrator on a connection of its own to `databaseURL`: what `pipeline migrate` runs.
    public init(databaseURL: String, migrations: MigrationSet) throws {
        try self.init(connection: PQConnection(databaseURL), migrations: migrations)
    }
}
