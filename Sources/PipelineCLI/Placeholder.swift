import ArgumentParser

public struct PipelineCommand: ParsableCommand {
    public init() {}
}
