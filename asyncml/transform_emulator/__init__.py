"""[4] transform: SageMaker Batch Transform on one machine: the request, DataProcessing, records, files,
invoke, the CLI and the demo model. It imports nothing else of asyncml, so it could ship on its own."""
