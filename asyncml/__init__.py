"""asyncml: asynchronous, batched ML inference behind a GraphQL API with live status."""

__version__ = "0.1.0"
