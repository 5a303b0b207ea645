"""HTTP edge: webhook, REST API v1, monitoring."""
