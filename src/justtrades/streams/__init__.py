"""The broker streams: WebSocket connections, the position mirror and reconciliation."""
