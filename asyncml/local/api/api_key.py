"""[1] the local API key: made on first start like an AppSync key, kept owner-only in the data dir."""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path


def load_or_create_api_key(data_dir: Path) -> str:
    """The key kept in `<data_dir>/api_key` (owner-only), made on first start like an AppSync key."""
    path = data_dir / "api_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # someone widened it; a key readable by others is no key
        key = path.read_text().strip()
        if key:
            return key
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    key = "da2-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
