import ArgumentParser

/// --database, shared by every command that talks to PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "PostgreSQL connection: a postgresql:// URI or a libpq conninfo string (env: PIPELINE_DATABASE_URL).",
            valueName: "URL"))
    var databaseFlag: String?

    /// The flag, else PIPELINE_DATABASE_URL, else an error saying how to give it.
    func url() throws -> String {
        if let databaseFlag { return databaseFlag }
        if let value = Environment.value("PIPELINE_DATABASE_URL") { return value }
        throw ValidationError("no database given: pass --database URL or set PIPELINE_DATABASE_URL")
    }
}
