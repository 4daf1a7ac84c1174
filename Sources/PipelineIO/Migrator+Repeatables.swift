import LibPQ

extension Migrator {
    /// The definitions whose file is new or changed since it was last applied.
    func changedRepeatables() throws -> [RepeatableMigration] {
        let rows = try connection.execute(
            """
            SELECT f.path
            FROM unnest($1::text[], $2::text[]) AS f(path, sql)
            LEFT JOIN etl.schema_repeatables AS r ON r.path = f.path
            WHERE r.checksum IS DISTINCT FROM encode(sha256(convert_to(f.sql, 'UTF8')), 'hex')
            """,
            [postgresArray(repeatables.map(\.path)), postgresArray(repeatables.map(\.sql))])
        let changed = Set((0..<rows.rowCount).compactMap { rows.value($0, 0) })
        return repeatables.filter { changed.contains($0.path) }
    }

    /// Applies definitions in one transaction, functions first, then views, then triggers, and
    /// records their checksums; forgets the records of files that are gone (their objects stay:
    /// a versioned migration drops them).
    func apply(_ definitions: [RepeatableMigration]) throws {
        try connection.transaction {
            // Bodies may name functions or tables defined later in this run.
            try connection.execute("SET LOCAL check_function_bodies = off")
            for kind in RepeatableMigration.Kind.allCases {
                let ofKind = definitions.filter { $0.kind == kind }
                if kind == .view { try applyInDependencyOrder(ofKind) } else { try ofKind.forEach(applyOne) }
            }
            try connection.execute(
                """
                INSERT INTO etl.schema_repeatables AS r (path, checksum)
                SELECT f.path, encode(sha256(convert_to(f.sql, 'UTF8')), 'hex')
                FROM unnest($1::text[], $2::text[]) AS f(path, sql)
                ON CONFLICT ON CONSTRAINT schema_repeatables_pkey
                DO UPDATE SET checksum = excluded.checksum, applied_at = now()
                """, [postgresArray(definitions.map(\.path)), postgresArray(definitions.map(\.sql))])
            try connection.execute(
                "DELETE FROM etl.schema_repeatables WHERE path <> ALL ($1::text[])",
                [postgresArray(repeatables.map(\.path))])
        }
    }

    /// Views may read other views: they are tried in the order the names in their text give
    /// (`orderedByMentions`), and a view whose dependency is still not there (SQLSTATE 42P01) is
    /// put back and tried again after the others, until a round makes no progress.
    private func applyInDependencyOrder(_ views: [RepeatableMigration]) throws {
        var waiting = RepeatableMigration.orderedByMentions(views)
        while !waiting.isEmpty {
            var stillWaiting: [RepeatableMigration] = []
            var lastError: Error?
            for view in waiting {
                try connection.execute("SAVEPOINT repeatable_view")
                do {
                    try applyOne(view)
                    try connection.execute("RELEASE SAVEPOINT repeatable_view")
                } catch let error as MigrationError where error.sqlState == .undefinedTable {
                    try connection.execute("ROLLBACK TO SAVEPOINT repeatable_view")
                    stillWaiting.append(view)
                    lastError = error
                }
            }
            if stillWaiting.count == waiting.count, let lastError { throw lastError }
            waiting = stillWaiting
        }
    }

    private func applyOne(_ definition: RepeatableMigration) throws {
        do { try connection.executeScript(definition.sql) } catch let error as PostgresError {
            throw MigrationError(
                "\(definition.path) failed: \(error.message)",
                remedy: "Fix the definition; nothing of this run's definitions was applied.", sqlState: error.sqlState)
        }
    }
}
