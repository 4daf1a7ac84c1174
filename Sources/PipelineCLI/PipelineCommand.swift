import ArgumentParser
import Foundation

/// `pipeline`: Kafka → PostgreSQL, exactly once, aggregated in SQL.
public struct PipelineCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Load user events from Kafka into PostgreSQL exactly once; aggregate them in SQL.",
        subcommands: [
            MigrateCommand.self, WorkerCommand.self, RefreshCommand.self, ProduceCommand.self, DevKafkaCommand.self,
            StatusCommand.self,
        ])

    public init() {}

    /// ArgumentParser's `main`, except that a bad setting is one line and exit 64:
    /// its own path for ValidationError adds the usage, for other errors exits 1.
    public static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as ConfigurationError {
            error.report()
            Foundation.exit(ConfigurationError.exitCode)
        } catch {
            exit(withError: error)
        }
    }
}
