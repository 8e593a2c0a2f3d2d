"""The cloud runtime's adapters: the only importers of boto3."""
