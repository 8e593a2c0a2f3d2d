"""[4] transform: DataProcessing (InputFilter, JoinSource, OutputFilter) for CSV and JSON records."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncml.transform_emulator.jsonpath import DataProcessingError, Indexes, JsonPath, parse_path, select

CSV = "text/csv"
JSON_TYPES = ("application/json", "application/jsonlines")

# A CSV field made of unquoted runs and "quoted" runs ("" escapes a quote inside them).
_CSV_FIELD = re.compile(r'(?:[^,"]|"(?:[^"]|"")*")*')


@dataclass(frozen=True)
class RecordProcessor:
    """Applies a job's DataProcessing to lists of records (one mini-batch at a time)."""

    filter_inputs: Callable[[list[str]], list[str]]
    join_outputs: Callable[[list[str], list[str]], list[str]]


def build_processor(
    content_type: str, input_filter: str, join_source: str, output_filter: str
) -> RecordProcessor:
    """`content_type` must be CSV or JSON (validated earlier); filters are already known to parse."""
    in_path, out_path = parse_path(input_filter), parse_path(output_filter)
    join = join_source == "Input"
    if content_type == CSV:
        return _csv_processor(in_path, join, out_path)
    return _json_processor(in_path, join, out_path)


def is_identity(input_filter: str, join_source: str, output_filter: str) -> bool:
    return input_filter == "$" and output_filter == "$" and join_source != "Input"


# --- CSV: a row is a JSON array of its fields, kept as raw text so quoting survives untouched ---


def split_csv(line: str) -> list[str]:
    """Raw field texts (quotes kept); plain `str.split` unless the line holds a quote."""
    if '"' not in line:
        return line.split(",")
    fields: list[str] = []
    pos, end = 0, len(line)
    while True:
        match = _CSV_FIELD.match(line, pos)
        assert match is not None  # the pattern also matches the empty string
        fields.append(match.group())
        pos = match.end()
        if pos == end:
            return fields
        if line[pos] != ",":
            raise DataProcessingError(f"malformed CSV record (unbalanced quote): {line[:80]!r}")
        pos += 1
        if pos == end:
            fields.append("")
            return fields


def select_fields(fields: list[str], path: JsonPath) -> list[str]:
    """CSV filters are index paths (`$`, `$[1:]`, `$[0,-1]`, `$[*]`); a single index gives one field."""
    if not path:
        return fields
    picked = select(fields, path)
    return picked if isinstance(picked, list) else [picked]


def _csv_selector(path: JsonPath) -> Callable[[str], str]:
    if not path:
        return lambda line: line
    step = path[0]
    if isinstance(step, Indexes) and len(step.items) == 1 and isinstance(step.items[0], tuple):
        start, stop = step.items[0]
        if start is not None and start > 0 and stop is None:
            # `$[k:]` (asyncml's `$[1:]`): cut after the k-th comma, no field list needed.
            def drop_leading(line: str) -> str:
                if '"' in line:
                    return ",".join(select_fields(split_csv(line), path))
                parts = line.split(",", start)
                return parts[start] if len(parts) > start else ""

            return drop_leading
    return lambda line: ",".join(select_fields(split_csv(line), path))


def _csv_processor(in_path: JsonPath, join: bool, out_path: JsonPath) -> RecordProcessor:
    pick_input, pick_output = _csv_selector(in_path), _csv_selector(out_path)

    def filter_inputs(lines: list[str]) -> list[str]:
        return lines if not in_path else [pick_input(line) for line in lines]

    def join_outputs(inputs: list[str], outputs: list[str]) -> list[str]:
        if not join:
            return outputs if not out_path else [pick_output(line) for line in outputs]
        # Input columns, then output columns: raw text on both sides, so a caller can strip the input prefix.
        if not out_path:
            return [i + "," + o for i, o in zip(inputs, outputs, strict=True)]
        return [pick_output(i + "," + o) for i, o in zip(inputs, outputs, strict=True)]

    return RecordProcessor(filter_inputs, join_outputs)


# --- JSON / JSON Lines ---


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DataProcessingError(f"{what} is not valid JSON ({exc}): {text[:80]!r}") from None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def join_json(record: Any, output: Any) -> Any:
    """SageMaker adds the output under the reserved key `SageMakerOutput`, or wraps a non-object input."""
    if isinstance(record, dict):
        return {**record, "SageMakerOutput": output}
    return {"SageMakerInput": record, "SageMakerOutput": output}


def _json_processor(in_path: JsonPath, join: bool, out_path: JsonPath) -> RecordProcessor:
    def filter_inputs(lines: list[str]) -> list[str]:
        if not in_path:
            return lines
        return [_dumps(select(_loads(line, "input record"), in_path)) for line in lines]

    def one_output(raw_input: str, raw_output: str) -> str:
        value = _loads(raw_output, "model output")
        if join:
            value = join_json(_loads(raw_input, "input record"), value)
        return _dumps(select(value, out_path)) if out_path else _dumps(value)

    def join_outputs(inputs: list[str], outputs: list[str]) -> list[str]:
        if not join and not out_path:
            return outputs
        return [one_output(i, o) for i, o in zip(inputs, outputs, strict=True)]

    return RecordProcessor(filter_inputs, join_outputs)
