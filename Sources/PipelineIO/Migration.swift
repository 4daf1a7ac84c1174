import Foundation

/// One versioned SQL file, `NNNN_verb_noun.sql`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Parses `0004_create_staging_events.sql` into (4, "create_staging_events").
    public init?(fileName: String, sql: String) {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]),
            stem[..<underscore].count == 4
        else { return nil }
        self.init(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
    }

    public var fileName: String { String(format: "%04d_%@.sql", version, name) }
}

/// Where the migration files come from: a directory, or the copies built into the binary.
public enum MigrationSource {
    case embedded
    case directory(String)

    public func load() throws -> [Migration] {
        switch self {
        case .embedded:
            return EmbeddedMigrations.all
        case .directory(let path):
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw MigrationError(
                    "cannot read the migrations directory \(path): \(error.localizedDescription)",
                    remedy:
                        "Pass --migrations with the folder that holds NNNN_name.sql files, or omit it to use the built-in ones."
                )
            }
            var migrations: [Migration] = []
            for name in names.sorted() where name.hasSuffix(".sql") {
                let url = URL(fileURLWithPath: path).appendingPathComponent(name)
                let sql = try String(contentsOf: url, encoding: .utf8)
                guard let migration = Migration(fileName: name, sql: sql) else {
                    throw MigrationError(
                        "\(name) is not named NNNN_description.sql",
                        remedy: "Rename it with a four-digit version prefix.")
                }
                migrations.append(migration)
            }
            return migrations
        }
    }
}

/// A migration refused or failed; the message names the file and what to do.
public struct MigrationError: Error, CustomStringConvertible {
    public var message: String
    public var remedy: String
    public init(_ message: String, remedy: String) {
        self.message = message
        self.remedy = remedy
    }
    public var description: String { "\(message). \(remedy)" }
}
