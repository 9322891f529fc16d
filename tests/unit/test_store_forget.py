"""tug.store.forget: what the monitor of a `--rm` container uses to remove it without the engine."""

from __future__ import annotations

import json

from tug.store.forget import forget_record
from tug.store.metadata import Metadata


def test_forget_record_frees_the_name_and_leaves_the_directory(tmp_path):
    md = Metadata(tmp_path / "tug.db")
    md.insert_container("a" * 64, "web", config={"extra": {"anonymous_volumes": ["v1"]}})
    md.insert_container("b" * 64, "other")
    (tmp_path / "containers" / ("a" * 64)).mkdir(parents=True)
    config = forget_record(str(tmp_path), "a" * 64)
    assert json.loads(config)["extra"]["anonymous_volumes"] == ["v1"]
    assert md.get_container("a" * 64) is None and md.get_container("b" * 64) is not None
    md.insert_container("c" * 64, "web")  # the name is free again
    assert (tmp_path / "containers" / ("a" * 64)).is_dir()  # the caller removes it next
    assert forget_record(str(tmp_path), "a" * 64) is None  # already gone: nothing to return
