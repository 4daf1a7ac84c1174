import LibPQ

/// Applies versioned SQL files in order, each once, each in its own
/// transaction, recorded with a checksum in `etl.schema_migrations`; then the
/// repeatable definitions (functions, views, triggers) that changed, recorded in
/// `etl.schema_repeatables`. Refuses to run when history and files disagree; two
/// migrators starting together serialize on an advisory lock.
public struct Migrator {
    public struct Status: Equatable, Sendable {
        public struct Applied: Equatable, Sendable {
            public var version: Int
            public var name: String
            public var appliedAt: String
        }
        public var applied: [Applied]
        public var pending: [Migration]
        /// Definitions new or changed since they were last applied.
        public var pendingRepeatable: [RepeatableMigration]
    }

    /// What one run applied.
    public struct Outcome: Equatable, Sendable {
        public var versioned: [Migration] = []
        public var repeatable: [RepeatableMigration] = []
        /// The history a baseline took the place of, when this run adopted one.
        public var adoptedBaseline: Migration?
        /// Tables of aggregates declared in etl.aggregates that this run created.
        public var createdAggregates = 0
        public var isEmpty: Bool {
            versioned.isEmpty && repeatable.isEmpty && adoptedBaseline == nil && createdAggregates == 0
        }
    }

    /// Key of the session advisory lock held while migrating (arbitrary, fixed: "pipeline" in ASCII).
    static let advisoryLockKey = "7074294011106674789"

    let connection: PQConnection
    let migrations: [Migration]
    let repeatables: [RepeatableMigration]

    public init(connection: PQConnection, migrations: MigrationSet) throws {
        let sorted = migrations.versioned
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw MigrationError(
                "two migrations have version \(next.version): \(previous.fileName) and \(next.fileName)",
                remedy: "Give each file its own version number.")
        }
        self.connection = connection
        self.migrations = sorted
        self.repeatables = migrations.repeatable
    }

    /// Adopts a baseline where the recorded history is the one it replaces, applies every pending
    /// versioned migration, then the repeatable definitions: all of them when a versioned
    /// migration ran (it may have dropped a view to change a table), else those new or changed.
    @discardableResult
    public func migrate(onApply: (String) -> Void = { _ in }) throws -> Outcome {
        try withLock {
            var applied = Outcome()
            applied.adoptedBaseline = try adoptBaseline()
            let pending = try verifiedPending()
            for migration in pending {
                try connection.transaction {
                    try connection.executeScript(migration.sql)
                    try connection.execute(
                        """
                        INSERT INTO etl.schema_migrations (version, name, checksum)
                        VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))
                        """, [String(migration.version), migration.name, migration.sql])
                }
                onApply(migration.fileName)
            }
            applied.versioned = pending
            let definitions = pending.isEmpty ? try changedRepeatables() : repeatables
            try apply(definitions)
            definitions.forEach { onApply($0.path) }
            applied.repeatable = definitions
            applied.createdAggregates = try createDeclaredAggregates()
            return applied
        }
    }

    /// What is applied and what is pending, after the same checks `migrate` makes.
    public func status() throws -> Status {
        try withLock {
            let pending = try verifiedPending()
            let rows = try connection.execute(
                "SELECT version, name, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ') FROM etl.schema_migrations ORDER BY version"
            )
            let applied = (0..<rows.rowCount).map { row in
                Status.Applied(
                    version: Int(rows.value(row, 0) ?? "") ?? 0, name: rows.value(row, 1) ?? "",
                    appliedAt: rows.value(row, 2) ?? "")
            }
            return Status(applied: applied, pending: pending, pendingRepeatable: try changedRepeatables())
        }
    }

    private func withLock<T>(_ body: () throws -> T) throws -> T {
        try connection.execute("SELECT pg_advisory_lock($1::bigint)", [Self.advisoryLockKey])
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock($1::bigint)", [Self.advisoryLockKey]) }
        try connection.executeScript(
            """
            CREATE SCHEMA IF NOT EXISTS etl;
            CREATE TABLE IF NOT EXISTS etl.schema_migrations (
                version    integer     NOT NULL,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
            );
            CREATE TABLE IF NOT EXISTS etl.schema_repeatables (
                path       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT schema_repeatables_pkey PRIMARY KEY (path)
            );
            """)
        return try body()
    }

    /// Compares the recorded history with the files; returns the files still to apply.
    private func verifiedPending() throws -> [Migration] {
        // Checksums of the files computed by the server, the same way as when recorded.
        let rows = try connection.execute(
            """
            SELECT m.version, m.name, m.checksum,
                   m.checksum = encode(sha256(convert_to(f.sql, 'UTF8')), 'hex') AS unchanged,
                   f.version IS NOT NULL AS present
            FROM etl.schema_migrations m
            LEFT JOIN unnest($1::int[], $2::text[]) AS f(version, sql) ON f.version = m.version
            ORDER BY m.version
            """,
            [postgresArray(migrations.map { String($0.version) }), postgresArray(migrations.map(\.sql))])
        var applied: Set<Int> = []
        for row in 0..<rows.rowCount {
            let version = Int(rows.value(row, 0) ?? "") ?? -1
            let name = rows.value(row, 1) ?? "?"
            let file = String(format: "%04d_%@.sql", version, name)
            guard rows.value(row, 4) == "t" else {
                throw MigrationError(
                    "\(file) is applied in this database but its file is missing",
                    remedy: "Restore the file; applied migrations are never deleted.")
            }
            guard rows.value(row, 3) == "t" else {
                throw MigrationError(
                    "\(file) has changed since it was applied (checksum differs)",
                    remedy: "Restore the applied version and put the change in a new migration with the next number.")
            }
            applied.insert(version)
        }
        let maxApplied = applied.max() ?? 0
        let pending = migrations.filter { !applied.contains($0.version) }
        if let early = pending.first(where: { $0.version < maxApplied }) {
            throw MigrationError(
                "\(early.fileName) is pending but a later version (\(maxApplied)) is already applied",
                remedy: "Renumber it after \(String(format: "%04d", maxApplied)); migrations apply strictly in order.")
        }
        return pending
    }
}

/// A PostgreSQL array literal of text elements, every element quoted and escaped.
func postgresArray(_ elements: [String]) -> String {
    var out = "{"
    for (index, element) in elements.enumerated() {
        if index > 0 { out += "," }
        out += "\""
        for character in element {
            if character == "\"" || character == "\\" { out += "\\" }
            out.append(character)
        }
        out += "\""
    }
    return out + "}"
}
