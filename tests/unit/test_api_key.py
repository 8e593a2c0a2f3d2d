"""`asyncml serve` without --api-key: a random key made on first start, owner-only, reused afterwards."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from asyncml.local.api.api_key import load_or_create_api_key


def test_first_start_makes_a_key_only_its_owner_can_read(tmp_path: Path) -> None:
    key = load_or_create_api_key(tmp_path / "data")
    path = tmp_path / "data" / "api_key"
    assert key.startswith("da2-") and len(key) == 30
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key


def test_later_starts_reuse_the_key(tmp_path: Path) -> None:
    first = load_or_create_api_key(tmp_path)
    assert load_or_create_api_key(tmp_path) == first


def test_a_key_file_others_could_read_is_narrowed_again(tmp_path: Path) -> None:
    key = load_or_create_api_key(tmp_path)
    (tmp_path / "api_key").chmod(0o644)
    assert load_or_create_api_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "api_key").stat().st_mode) == 0o600


def test_two_servers_get_different_keys(tmp_path: Path) -> None:
    assert load_or_create_api_key(tmp_path / "a") != load_or_create_api_key(tmp_path / "b")


def test_a_key_file_left_empty_gets_a_new_key(tmp_path: Path) -> None:
    (tmp_path / "api_key").write_bytes(b"")
    key = load_or_create_api_key(tmp_path)
    assert key.startswith("da2-") and (tmp_path / "api_key").read_text().strip() == key


def test_a_key_file_that_is_not_utf8_stops_the_start_naming_the_file(tmp_path: Path) -> None:
    # Replacing it silently would lock out every client holding the old key.
    (tmp_path / "api_key").write_bytes(b"da2-\xff\xfe")
    with pytest.raises(SystemExit, match="api_key is not an API key"):
        load_or_create_api_key(tmp_path)
