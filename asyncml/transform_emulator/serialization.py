"""[4] transform: the default input_fn / output_fn codecs of SageMaker's framework containers.

They behave as `sagemaker_inference.decoder` / `encoder` (and the scikit-learn container's patched
copy of them): CSV through `numpy.genfromtxt` / `numpy.savetxt`, JSON through `json` and
`numpy.array`, NPY through `numpy.load(allow_pickle=False)`. Written here rather than imported: the
toolkit ships only as an sdist and pulls boto3, psutil and a pinned `retrying` into the model
process, for these few lines.
"""

from __future__ import annotations

import io
import json
from typing import Any

CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"
# The toolkit hands these to handlers as `str`; every other type arrives as `bytes`.
UTF8_TYPES = (CSV, JSON)


class UnsupportedFormat(Exception):
    """A content type or Accept the default handlers cannot speak: the container answers 415."""

    def __init__(self, content_type: str, supported: tuple[str, ...], hint: str = "") -> None:
        super().__init__(f"{content_type!r} is not supported (supported: {', '.join(supported)}){hint}")


_HINT = "; define input_fn / output_fn in the entry point for other types"


def decode(data: str | bytes, content_type: str) -> Any:
    """Request body -> numpy array. A one-line CSV decodes to a 1-D array, as in the container."""
    import numpy as np

    if content_type == CSV:
        text = data if isinstance(data, str) else data.decode("utf-8")
        return np.genfromtxt(io.StringIO(text), delimiter=",")
    if content_type == JSON:
        return np.array(json.loads(data))
    if content_type == NPY:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return np.load(io.BytesIO(raw), allow_pickle=False)  # a pickle in a payload could run code
    raise UnsupportedFormat(content_type, (CSV, JSON, NPY), _HINT)


def encode(prediction: Any, accept: str) -> str | bytes:
    """Prediction -> response body. CSV writes one line per row, so N records answer N lines."""
    import numpy as np

    if accept == CSV:
        out = io.StringIO()
        np.savetxt(out, np.asarray(prediction), delimiter=",", fmt="%s")
        return out.getvalue()
    if accept == JSON:
        return json.dumps(prediction, default=_to_list)
    if accept == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction))
        return buffer.getvalue()
    raise UnsupportedFormat(accept, (CSV, JSON, NPY), _HINT)


def _to_list(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
