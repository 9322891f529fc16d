"""tug.jsontext: JSON without the json package, read and written as `json` does."""

from __future__ import annotations

import json
import math

import pytest

from tug import jsontext

DOC = {"a": [1, 2.5, "x\u00e9\n", None, True, False], "b": {}, "c": [], "d": {"e": -3}, "t": (1, 2)}


def test_dumps_is_what_json_writes():
    assert jsontext.dumps(DOC) == json.dumps(DOC)
    assert jsontext.dumps(DOC, compact=True) == json.dumps(DOC, separators=(",", ":"))
    with pytest.raises(TypeError, match="set is not JSON serialisable"):
        jsontext.dumps({"s": {1}})


def test_loads_reads_what_json_reads_and_refuses_the_rest():
    text = json.dumps(DOC)
    assert jsontext.loads(text) == json.loads(text)
    assert jsontext.loads(b'\xef\xbb\xbf {"x": [1]} \n') == {"x": [1]}
    assert math.isinf(jsontext.loads("[Infinity]")[0]) and math.isnan(jsontext.loads("NaN"))
    for bad, why in (('{"a": 1} x', "extra data"), ("[1,", "invalid JSON"), ("", "invalid JSON"),
                     ("{'a': 1}", "invalid JSON")):
        with pytest.raises(ValueError, match=why):
            jsontext.loads(bad)


def test_write_file_replaces_atomically_with_the_mode_asked(tmp_path):
    p = str(tmp_path / "state.json")
    jsontext.write_file(p, {"v": 1}, 0o600)
    jsontext.write_file(p, {"v": 2}, 0o600)
    assert jsontext.read_file(p) == {"v": 2}
    assert oct((tmp_path / "state.json").stat().st_mode & 0o777) == "0o600"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["state.json"]  # no temp file left
    with pytest.raises(TypeError):
        jsontext.write_file(p, {"bad": object()})
    assert jsontext.read_file(p) == {"v": 2} and len(list(tmp_path.iterdir())) == 1
