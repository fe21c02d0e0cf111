"""names.txt download: checksum-verified, atomic, and a clear error when offline."""

import hashlib

import pytest

from wavenet_harness.base.data import NAMES_SHA256, DataError, ensure_names_file


def test_download_verifies_checksum_and_writes_the_file(tmp_path, names_path):
    target = tmp_path / "data" / "names.txt"
    ensure_names_file(target, url=names_path.resolve().as_uri())
    assert hashlib.sha256(target.read_bytes()).hexdigest() == NAMES_SHA256
    assert [p.name for p in target.parent.iterdir()] == ["names.txt"]  # no temporary left behind


def test_download_with_wrong_checksum_saves_nothing(tmp_path):
    source = tmp_path / "other.txt"
    source.write_text("not\nthe\nnames\n")
    target = tmp_path / "data" / "names.txt"
    with pytest.raises(DataError, match="sha256"):
        ensure_names_file(target, url=source.as_uri())
    assert not target.exists()


def test_offline_download_says_where_to_put_the_file(tmp_path):
    target = tmp_path / "data" / "names.txt"
    with pytest.raises(DataError) as err:
        ensure_names_file(target, url="http://127.0.0.1:9/names.txt", timeout=5)
    message = str(err.value)
    assert "\n" not in message
    assert str(target.resolve()) in message and "data.path=" in message


def test_existing_file_is_used_as_is(tmp_path):
    target = tmp_path / "names.txt"
    target.write_text("ann\nbob\n")
    assert ensure_names_file(target, url="http://127.0.0.1:9/never") == target
