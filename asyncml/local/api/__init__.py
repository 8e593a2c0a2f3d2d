"""[1][8] the local AppSync-like API: HTTP, strawberry's WebSocket protocols and AppSync real-time."""
