"""SessionManagement stack: WebSocket API, speaker identity, session state and audio ingestion."""
