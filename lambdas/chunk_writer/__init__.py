"""chunk_writer Lambda function."""
