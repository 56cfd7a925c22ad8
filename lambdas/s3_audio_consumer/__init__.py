"""s3_audio_consumer Lambda function."""
