"""transcripts Lambda function: a session's transcript files in one language, on request."""
