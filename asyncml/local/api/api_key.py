"""[1] the local API key: made on first start like an AppSync key, kept owner-only in the data dir."""

from __future__ import annotations

import secrets
import string
from pathlib import Path

from asyncml.local.private_files import FILE_MODE, narrow, write_atomic


def load_or_create_api_key(data_dir: Path) -> str:
    """The key kept in `<data_dir>/api_key` (0600), made on first start like an AppSync key.

    Written atomically and only if absent, so a kill mid-write or two servers starting at once still
    leave one whole key; an empty file (from an older version) gets a new key."""
    path = data_dir / "api_key"
    narrow(path, FILE_MODE)  # someone widened it; a key readable by others is no key
    key = _read(path)
    if key:
        return key
    key = "da2-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))
    if write_atomic(path, (key + "\n").encode(), exclusive=not path.exists()):
        return key
    return _read(path)  # another server starting at once wrote its key first


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        # Not a key asyncml wrote; replacing it silently would lock out every client that has it.
        raise SystemExit(f"{path} is not an API key (not UTF-8): fix it or delete it") from None
