"""Spec validation, the default spec, and state bookkeeping that needs no kernel (pure)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tug.errors import Conflict, Invalid, NotFound
from tug.runtime import config, jsonio, state
from tug.runtime.exec import build_process, parse_user
from tug.runtime.spec import cmd_spec, default_spec

SCHEMA_DIR = Path(__file__).resolve().parent / "data" / "runtime-spec"


def good() -> dict:
    return default_spec()


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0+dev"])
def test_every_1x_version_is_accepted(version):
    s = good()
    s["ociVersion"] = version
    config.validate(s)


@pytest.mark.parametrize("version", ["2.0.0", "0.9", "", "v1.0.0", None])
def test_other_versions_are_rejected(version):
    s = good()
    s["ociVersion"] = version
    with pytest.raises(Invalid, match="ociVersion"):
        config.validate(s)


@pytest.mark.parametrize("mutate,msg", [
    (lambda s: s["process"].update(args=[]), "process.args"),
    (lambda s: s["process"].update(args="sh"), "process.args"),
    (lambda s: s["process"].update(cwd="relative"), "process.cwd"),
    (lambda s: s["process"]["user"].update(uid=-1), "uid"),
    (lambda s: s.pop("root"), "root.path"),
    (lambda s: s.pop("process"), "process is missing"),
    (lambda s: s["linux"].update(namespaces=[{"type": "pid"}]), "mount namespace"),
    (lambda s: s["linux"]["namespaces"].append({"type": "bogus"}), "unknown namespace"),
    (lambda s: s["linux"]["namespaces"].append({"type": "pid"}), "twice"),
    (lambda s: s["linux"]["namespaces"].append({"type": "user"}), "user namespaces"),
    (lambda s: s["linux"].update(namespaces=[{"type": "mount"}]), "UTS"),
    (lambda s: s["mounts"].append({"type": "tmpfs"}), "destination"),
])
def test_invalid_specs_name_the_problem(mutate, msg):
    s = good()
    mutate(s)
    with pytest.raises(Invalid, match=msg):
        config.validate(s)


def test_load_reports_missing_and_broken_files(tmp_path):
    with pytest.raises(NotFound):
        config.load(str(tmp_path))
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(Invalid, match="invalid JSON"):
        config.load(str(tmp_path))


def test_ids():
    for ok in ("a", "abc-1.2_x+y", "0" * 64):
        assert config.check_id(ok) == ok
    for bad in ("", ".", "..", "a/b", "a b", "é"):
        with pytest.raises(Invalid):
            config.check_id(bad)


def test_spec_command_writes_runc_like_defaults_once(tmp_path):
    assert cmd_spec(str(tmp_path)) == 0
    s = json.loads((tmp_path / "config.json").read_text())
    assert s["process"]["args"] == ["sh"] and s["process"]["terminal"] is True
    assert s["root"] == {"path": "rootfs", "readonly": True} and s["process"]["noNewPrivileges"] is True
    assert {n["type"] for n in s["linux"]["namespaces"]} >= {"pid", "network", "ipc", "uts", "mount"}
    config.validate(s)
    with pytest.raises(Conflict):
        cmd_spec(str(tmp_path))


def test_default_specs_match_the_oci_schema():
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    base = SCHEMA_DIR.resolve().as_uri() + "/"
    registry = Registry().with_resources(
        [(base + p.name, Resource(contents=json.loads(p.read_text()), specification=DRAFT4))
         for p in SCHEMA_DIR.glob("*.json")])
    schema = json.loads((SCHEMA_DIR / "config-schema.json").read_text())
    schema["id"] = base + "config-schema.json"
    validator = Draft4Validator(schema, registry=registry)
    for spec in (default_spec(), default_spec(rootless=True)):
        validator.validate(spec)


def test_rootless_spec_has_a_user_namespace_and_no_cgroup_mount():
    s = default_spec(rootless=True)
    assert {"type": "user"} in s["linux"]["namespaces"] and s["linux"]["uidMappings"]
    assert all(m["destination"] != "/sys/fs/cgroup" for m in s["mounts"])


def test_jsonio_round_trips_like_json():
    doc = {"a": [1, 2.5, "x\u00e9\n", None, True, False], "b": {}, "c": [], "d": {"e": -3}}
    assert json.loads(jsonio.dumps(doc)) == doc
    assert json.loads(jsonio.dumps(doc, pretty=True)) == doc
    assert jsonio.loads(json.dumps(doc)) == doc
    assert jsonio.loads(b'\xef\xbb\xbf{"x": 1}') == {"x": 1}
    for bad in ('{"a": 1} x', "[1,", "", "{'a': 1}"):
        with pytest.raises(Invalid):
            jsonio.loads(bad)


def test_state_dir_conflict_and_listing(tmp_path):
    root = str(tmp_path / "root")
    d = state.new_dir(root, "c1")
    with pytest.raises(Conflict):
        state.new_dir(root, "c1")
    c = state.Container(root, "c1", {"pid": 0, "bundle": "/b", "rootfs": "/b/rootfs", "created": "t",
                                     "ociVersion": "1.0.2"})
    c.save()
    assert state.list_ids(root) == ["c1"]
    pub = state.load(root, "c1").public()
    assert pub["status"] == "stopped" and pub["pid"] == 0 and list(pub)[:4] == ["ociVersion", "id", "pid", "status"]
    state.remove_dir(d)
    assert state.list_ids(root) == []


def test_exec_process_from_flags():
    base = copy.deepcopy(good()["process"])
    base["env"] = ["PATH=/bin", "A=1"]
    p = build_process(base, {"env": ["A=2", "B=3"], "cwd": "/tmp", "user": "1000:100", "tty": True,
                             "cap": ["sys_admin"], "no_new_privs": True}, ["ls", "-l"])
    assert p["args"] == ["ls", "-l"] and p["env"] == ["PATH=/bin", "A=2", "B=3"] and p["cwd"] == "/tmp"
    assert p["user"]["uid"] == 1000 and p["user"]["gid"] == 100 and p["terminal"] is True
    assert "CAP_SYS_ADMIN" in p["capabilities"]["effective"] and "CAP_SYS_ADMIN" in p["capabilities"]["bounding"]
    assert base["args"] == ["sh"]  # the container's own process is not modified
    with pytest.raises(Invalid):
        build_process(base, {}, [])
    with pytest.raises(Invalid):
        parse_user("root", {})
