import ArgumentParser

/// --database, shared by every command that talks to PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: Settings.database.help("PostgreSQL connection", valueName: "URL"))
    var databaseFlag: String?

    /// The flag, else PIPELINE_DATABASE_URL, checked by libpq's parser; else an error saying how to give it.
    func url() throws -> String {
        guard let url = try Settings.database.resolveOptional(databaseFlag) else {
            throw ValidationError("no database given: pass --database URL or set PIPELINE_DATABASE_URL")
        }
        return url
    }
}
