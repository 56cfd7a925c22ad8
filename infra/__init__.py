"""CDK building blocks shared by the SessionManagement and AudioTranscription stacks."""
