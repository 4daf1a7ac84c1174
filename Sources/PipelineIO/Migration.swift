import Foundation
import LibPQ

/// One versioned SQL file, `NNNN_verb_noun.sql`: tables, indexes, data moves, grants. Applied
/// once, in order, never edited after merge.
public struct Migration: Sendable, Equatable {
    /// A file a baseline stands in for: a database that recorded exactly these already has the
    /// baseline's schema.
    public struct Replaced: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var checksum: String
    }

    public var version: Int
    public var name: String
    public var sql: String

    public var fileName: String { String(format: "%04d_%@.sql", version, name) }

    /// A baseline (`NNNN_baseline.sql`) squashes the history up to its version into one file.
    public var isBaseline: Bool { name == "baseline" }

    /// The files a baseline replaces, from its header lines `--   0001 create_schemas <sha256>`.
    public var replaced: [Replaced] {
        guard isBaseline else { return [] }
        return sql.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "--", words[1].count == 4, let version = Int(words[1]),
                words[3].count == 64, words[3].allSatisfy(\.isHexDigit)
            else { return nil }
            return Replaced(version: version, name: String(words[2]), checksum: String(words[3]))
        }
    }
}

// In an extension, so that the memberwise initializer the tests use stays synthesized.
extension Migration {
    /// Parses `0004_create_staging_events.sql` into (4, "create_staging_events").
    public init?(fileName: String, sql: String) {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]),
            stem[..<underscore].count == 4
        else { return nil }
        self.init(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
    }
}

/// One live definition of a function, view or trigger (`functions/etl.refresh_aggregates.sql`),
/// re-applied whenever it changes: Flyway's repeatable migrations, pg_partman's sql/functions/.
public struct RepeatableMigration: Sendable, Equatable {
    /// Applied in this order, after every versioned migration: a view may call a function and a
    /// trigger executes one; function bodies are not checked against tables when created.
    public enum Kind: String, Sendable, CaseIterable, Comparable {
        case function = "functions"
        case view = "views"
        case trigger = "triggers"

        public static func < (lhs: Kind, rhs: Kind) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public var kind: Kind
    /// Relative to the migrations folder: `views/analytics.events_per_minute.sql`.
    public var path: String
    public var sql: String
}

/// Everything in a migrations folder: the versioned steps and the repeatable definitions.
public struct MigrationSet: Sendable, Equatable {
    public var versioned: [Migration]
    public var repeatable: [RepeatableMigration]

    public init(versioned: [Migration], repeatable: [RepeatableMigration] = []) {
        self.versioned = versioned.sorted { $0.version < $1.version }
        self.repeatable = repeatable.sorted { ($0.kind, $0.path) < ($1.kind, $1.path) }
    }

    /// Sorts files by where they sit: `NNNN_name.sql` at the top, `functions/`, `views/`,
    /// `triggers/` below it. Anything else is refused, so a misplaced file is never ignored.
    public init(files: [(path: String, sql: String)]) throws {
        var versioned: [Migration] = []
        var repeatable: [RepeatableMigration] = []
        for file in files where file.path.hasSuffix(".sql") {
            let parts = file.path.split(separator: "/")
            if parts.count == 1 {
                guard let migration = Migration(fileName: file.path, sql: file.sql) else {
                    throw MigrationError(
                        "\(file.path) is not named NNNN_description.sql",
                        remedy: "Rename it with a four-digit version prefix.")
                }
                versioned.append(migration)
            } else if parts.count == 2, let kind = RepeatableMigration.Kind(rawValue: String(parts[0])) {
                repeatable.append(RepeatableMigration(kind: kind, path: file.path, sql: file.sql))
            } else {
                throw MigrationError(
                    "\(file.path) is in no folder the migrator reads",
                    remedy:
                        "Put versioned files at the top (NNNN_name.sql) and definitions in functions/, views/ or triggers/."
                )
            }
        }
        self.init(versioned: versioned, repeatable: repeatable)
    }
}

/// Where the migration files come from: a directory, or the copies built into the binary.
public enum MigrationSource {
    case embedded
    case directory(String)

    public func load() throws -> MigrationSet {
        switch self {
        case .embedded:
            return try MigrationSet(files: EmbeddedMigrationFiles.all)
        case .directory(let path):
            return try MigrationSet(files: Self.files(in: path))
        }
    }

    /// The `.sql` files at the top of the folder and one level below it, with relative paths.
    private static func files(in path: String) throws -> [(path: String, sql: String)] {
        let root = URL(fileURLWithPath: path)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw MigrationError(
                "cannot read the migrations directory \(path): \(error.localizedDescription)",
                remedy:
                    "Pass --migrations with the folder that holds NNNN_name.sql files, or omit it to use the built-in ones."
            )
        }
        var files: [(path: String, sql: String)] = []
        for name in names.sorted() {
            var isDirectory: ObjCBool = false
            let url = root.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                for inner in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
                where inner.hasSuffix(".sql") {
                    let sql = try String(contentsOf: url.appendingPathComponent(inner), encoding: .utf8)
                    files.append((path: "\(name)/\(inner)", sql: sql))
                }
            } else if name.hasSuffix(".sql") {
                files.append((path: name, sql: try String(contentsOf: url, encoding: .utf8)))
            }
        }
        return files
    }
}

/// A migration refused or failed; the message names the file and what to do.
public struct MigrationError: Error, CustomStringConvertible {
    public var message: String
    public var remedy: String
    /// The server's SQLSTATE, when a statement of the file failed.
    public var sqlState: PostgresError.SQLState?
    public init(_ message: String, remedy: String, sqlState: PostgresError.SQLState? = nil) {
        self.message = message
        self.remedy = remedy
        self.sqlState = sqlState
    }
    public var description: String { "\(message). \(remedy)" }
}
