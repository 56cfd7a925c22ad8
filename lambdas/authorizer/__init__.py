"""authorizer Lambda function."""
