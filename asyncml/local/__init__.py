"""The local runtime: the whole pipeline in one process, no AWS."""
