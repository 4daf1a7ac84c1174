import PipelineCLI

PipelineCommand.main()
