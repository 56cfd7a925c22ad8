"""AudioTranscription stack: the speech pipeline and the translated-clip bucket."""
