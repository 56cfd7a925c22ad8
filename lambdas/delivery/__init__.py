"""Delivery to the WebSocket connections: who listens (audience, listener index) and the
posts that reach them (a few: notifier; thousands: fanout). Bundled into every function."""
