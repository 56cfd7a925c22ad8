"""Code shared by every Lambda function; bundled into each function's asset."""
