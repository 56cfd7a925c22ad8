"""audio_processor Lambda function."""
