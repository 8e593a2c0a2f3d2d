"""Lambda logging and metrics: the one powertools Logger and Metrics every handler and the wiring use."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

# Each function's handler decorates itself with these (inject_lambda_context, log_metrics); the
# wiring hands `metrics` to MeteredPublisher, so the records a worker finishes are counted in the
# same metric set its handler flushes at the end of the invocation.
logger = Logger(service="asyncml")
metrics = Metrics(namespace="asyncml", service="asyncml")
