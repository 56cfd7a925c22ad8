"""fanout Lambda function: posts one page of a clip's listeners for the processor."""
