import LibPQ

extension Migrator {
    /// Where the recorded history is exactly the files a baseline replaces (same versions, names
    /// and checksums), records the baseline in their place, as Flyway's baseline does: the schema
    /// is already the baseline's. Returns the baseline adopted, if any.
    func adoptBaseline() throws -> Migration? {
        guard let baseline = migrations.first(where: \.isBaseline) else { return nil }
        let rows = try connection.execute(
            "SELECT version, name, checksum FROM etl.schema_migrations WHERE version <= $1 ORDER BY version",
            [String(baseline.version)])
        let recorded = (0..<rows.rowCount).map { row in
            Migration.Replaced(
                version: Int(rows.value(row, 0) ?? "") ?? -1, name: rows.value(row, 1) ?? "",
                checksum: rows.value(row, 2) ?? "")
        }
        let alreadyAdopted =
            recorded.count == 1 && recorded[0].version == baseline.version && recorded[0].name == baseline.name
        if recorded.isEmpty || alreadyAdopted { return nil }
        let replaced = baseline.replaced
        if recorded != replaced {
            let at = recorded.last.map { String(format: "%04d_%@", $0.version, $0.name) } ?? "?"
            throw MigrationError(
                "this database's history (up to \(at)) is not the one \(baseline.fileName) replaces",
                remedy: recorded.count < replaced.count
                    ? "Migrate it to \(String(format: "%04d", baseline.version)) with a release that still has those files, then run this one."
                    : "Its applied files differ from the released ones; compare etl.schema_migrations with the list in \(baseline.fileName)."
            )
        }
        try connection.transaction {
            try connection.execute(
                "DELETE FROM etl.schema_migrations WHERE version <= $1", [String(baseline.version)])
            try connection.execute(
                """
                INSERT INTO etl.schema_migrations (version, name, checksum)
                VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))
                """, [String(baseline.version), baseline.name, baseline.sql])
        }
        return baseline
    }
}
