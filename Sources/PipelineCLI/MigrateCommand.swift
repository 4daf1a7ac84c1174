import ArgumentParser
import PipelineIO

/// `pipeline migrate`: applies pending SQL migrations, or lists them with --status.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending migrations in order, each once, in its own transaction.")

    @OptionGroup var database: DatabaseOptions

    @Option(
        help: ArgumentHelp("Read migrations from this folder instead of those built into the binary.", valueName: "DIR")
    )
    var migrations: String?

    @Flag(help: "List applied and pending migrations; change nothing.")
    var status = false

    func run() throws {
        _ = try Settings.migrations.resolveOptional(migrations)
        let source: MigrationSource = migrations.map { .directory($0) } ?? .embedded
        let migrator = try Migrator(databaseURL: database.url(), migrations: source.load())
        if status {
            let report = try migrator.status()
            for applied in report.applied {
                print("applied  \(String(format: "%04d", applied.version))_\(applied.name)  \(applied.appliedAt)")
            }
            for pending in report.pending { print("pending  \(pending.fileName.dropLast(4))") }
            for definition in report.pendingRepeatable { print("pending  \(definition.path)") }
            print(
                "\(report.applied.count) applied, \(report.pending.count) pending, "
                    + "\(report.pendingRepeatable.count) definition(s) new or changed")
            return
        }
        let outcome = try migrator.migrate { print("applied \($0)") }
        if let baseline = outcome.adoptedBaseline {
            print("recorded \(baseline.fileName) in place of the \(baseline.replaced.count) files it replaces")
        }
        print(
            outcome.isEmpty
                ? "database is up to date"
                : "\(outcome.versioned.count) migration(s) and \(outcome.repeatable.count) definition(s) applied"
                    + (outcome.createdAggregates == 0
                        ? ""
                        : "; \(outcome.createdAggregates) declared aggregate(s) created, their history to be rebuilt"))
    }
}
