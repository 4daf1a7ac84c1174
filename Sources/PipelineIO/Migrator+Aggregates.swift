import LibPQ

extension Migrator {
    /// After the migrations and definitions: the table (and view) of every aggregate declared in
    /// `etl.aggregates` that has none yet, with a rebuild of the staged history requested for it
    /// (`etl.create_declared_aggregates`). A declaration is a row a versioned migration inserts,
    /// and versioned files never call the functions defined beside them (they are applied after),
    /// so the migrator does. Returns the tables created; nothing before the function exists.
    func createDeclaredAggregates() throws -> Int {
        let exists = try connection.execute("SELECT to_regprocedure('etl.create_declared_aggregates()') IS NOT NULL")
        guard exists.value(0, 0) == "t" else { return 0 }
        do {
            return try connection.transaction {
                let created = try connection.execute("SELECT etl.create_declared_aggregates()")
                return Int(created.value(0, 0) ?? "") ?? 0
            }
        } catch let error as PostgresError {
            throw MigrationError(
                "creating the declared aggregates failed: \(error.message)",
                remedy:
                    "Correct the declaration in etl.aggregates with a new migration (UPDATE or DELETE its row); "
                    + "the migrations before it are applied, and no aggregate table was created.",
                sqlState: error.sqlState)
        }
    }
}
