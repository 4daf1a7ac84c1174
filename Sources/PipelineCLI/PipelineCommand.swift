import ArgumentParser

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
}
