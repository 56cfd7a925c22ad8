"""connection_handler Lambda function."""
