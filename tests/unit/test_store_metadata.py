"""Metadata: CRUD of images, tags, layers and containers; the UNIQUE name decides concurrent creates."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tug.errors import Conflict, Invalid, NotFound
from tug.oci.digest import Digest
from tug.store.layout import Layout
from tug.store.locks import lock
from tug.store.metadata import Metadata


def dg(s: str) -> Digest:
    return Digest.of(s.encode())


@pytest.fixture
def md(tmp_path) -> Metadata:
    return Metadata(tmp_path / "tug.db")


def test_wal_and_busy_timeout_and_schema_version(md):
    assert md.query("PRAGMA journal_mode")[0][0] == "wal"
    assert md.query("PRAGMA busy_timeout")[0][0] >= 1000
    assert md.query("SELECT version FROM schema_version")[0][0] == 1


def test_one_connection_per_process(tmp_path):
    a = Metadata(tmp_path / "tug.db")
    b = Metadata(tmp_path / "." / "tug.db")
    assert a.conn is b.conn


def test_images_crud(md):
    img, l1, l2 = dg("config"), dg("l1"), dg("l2")
    row = md.add_image(img, layers=[l1, l2], manifest_digest=dg("m"), manifest_media_type="mt",
                       created="2024-01-01T00:00:00Z", size=42)
    assert row["id"] == str(img) and row["size"] == 42 and row["manifest_digest"] == str(dg("m"))
    assert md.image_layers(img) == [str(l1), str(l2)]
    assert md.get_image(str(img))["created"] == "2024-01-01T00:00:00Z"
    assert [r["id"] for r in md.list_images()] == [str(img)]
    assert [r["id"] for r in md.find_images_by_prefix(img.hex[:6])] == [str(img)]
    assert md.find_image_by_prefix("sha256:" + img.hex[:6])["id"] == str(img)
    md.add_layer(l1, l1, None, 10)
    assert md.layer_users(l1) == [str(img)]
    md.set_tag("docker.io/library/x:latest", img)
    md.add_repo_digest("docker.io/library/x", dg("m"), img)
    assert list(md.repo_digests_for_image(img)) == [("docker.io/library/x", str(dg("m")))]
    assert md.delete_image(img) == ["docker.io/library/x:latest"]
    assert md.get_image(img) is None
    assert md.get_tag("docker.io/library/x:latest") is None
    assert md.layer_users(l1) == []
    with pytest.raises(NotFound):
        md.delete_image(img)
    with pytest.raises(NotFound):
        md.find_image_by_prefix("abc")


def test_ambiguous_image_prefix(md):
    ids = [dg(str(i)) for i in range(200)]
    for i in ids:
        md.add_image(i)
    first = ids[0].hex[0]
    many = [i for i in ids if i.hex[0] == first]
    assert len(many) > 1
    assert len(md.find_images_by_prefix(first)) == 2
    with pytest.raises(Invalid, match="multiple IDs found with provided prefix"):
        md.find_image_by_prefix(first)


def test_tags(md):
    a, b = dg("a"), dg("b")
    md.add_image(a)
    md.add_image(b)
    assert md.set_tag("docker.io/library/x:1", a) is None
    assert md.set_tag("docker.io/library/x:1", b) == str(a)
    md.set_tag("docker.io/library/x:2", b)
    assert md.get_tag("docker.io/library/x:1") == str(b)
    assert md.list_tags() == [("docker.io/library/x:1", str(b)), ("docker.io/library/x:2", str(b))]
    assert md.tags_for_image(b) == ["docker.io/library/x:1", "docker.io/library/x:2"]
    assert md.delete_tag("docker.io/library/x:1") == str(b)
    with pytest.raises(NotFound):
        md.delete_tag("docker.io/library/x:1")


def test_tag_needs_an_image(md):
    with pytest.raises(NotFound):
        md.set_tag("docker.io/library/x:1", dg("nothing"))
    with pytest.raises(NotFound):
        md.add_repo_digest("docker.io/library/x", dg("m"), dg("nothing"))
    assert md.list_tags() == []


def test_layers(md):
    l1, l2 = dg("l1"), dg("l2")
    md.add_layer(l1, l1, None, 5)
    md.add_layer(l2, dg("diff2"), l1, 7)
    assert md.get_layer(l2) == {"chain_id": str(l2), "diff_id": str(dg("diff2")), "parent": str(l1), "size": 7}
    assert [r["chain_id"] for r in md.list_layers()] == sorted([str(l1), str(l2)])
    md.delete_layer(l2)
    assert md.get_layer(l2) is None


def test_transaction_rolls_back_on_error(md):
    with pytest.raises(RuntimeError), md.transaction():
        md.add_image(dg("x"))
        md.set_tag("docker.io/library/x:1", dg("x"))
        raise RuntimeError("boom")
    assert md.get_image(dg("x")) is None
    assert md.list_tags() == []


def test_containers_crud_and_find(md):
    cid = "ab" + "0" * 62
    row = md.insert_container(cid, "web", image_id=str(dg("i")), image_name="busybox", config={"a": 1},
                              state=json.dumps({"Status": "created"}))
    assert row["name"] == "web" and json.loads(row["config"]) == {"a": 1}
    assert json.loads(row["state"]) == {"Status": "created"}
    md.insert_container("ac" + "0" * 62, "db")
    assert md.find_container(cid)["id"] == cid
    assert md.find_container("web")["id"] == cid
    assert md.find_container("/web")["id"] == cid
    assert md.find_container("ab")["id"] == cid
    with pytest.raises(Invalid, match="multiple IDs found with provided prefix: a"):
        md.find_container("a")
    with pytest.raises(NotFound, match="No such container: nope"):
        md.find_container("nope")
    with pytest.raises(Conflict, match='"/web" is already in use'):
        md.insert_container("ff" * 32, "web")
    with pytest.raises(Conflict):
        md.insert_container(cid, "other")
    row = md.update_container(cid, state={"Status": "running"}, name="web2")
    assert json.loads(row["state"]) == {"Status": "running"} and row["name"] == "web2"
    with pytest.raises(Conflict):
        md.update_container(cid, name="db")
    with pytest.raises(Invalid):
        md.update_container(cid, bogus=1)
    with pytest.raises(NotFound):
        md.update_container("nope", state={})
    assert {r["name"] for r in md.list_containers()} == {"web2", "db"}
    md.delete_container(cid)
    assert md.get_container(cid) is None
    with pytest.raises(NotFound):
        md.delete_container(cid)


RACER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from tug.errors import Conflict
    from tug.store.metadata import Metadata
    db, go, i = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    md = Metadata(db)
    while not go.exists():
        time.sleep(0.005)
    try:
        md.insert_container(f"{i:064x}", "the-name")
        print("ok")
    except Conflict:
        print("conflict")
""")


def test_concurrent_inserts_of_one_name(tmp_path):
    db = tmp_path / "tug.db"
    Metadata(db)  # schema in place before the race
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(db), str(go), str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(20)]
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    results = sorted(o.strip() for o, _ in outs)
    assert results == ["conflict"] * 19 + ["ok"], [e for _, e in outs]
    rows = Metadata(db).list_containers()
    assert [r["name"] for r in rows] == ["the-name"]


def test_lock_is_exclusive_across_processes(tmp_path):
    from tug.errors import Unavailable

    layout = Layout(tmp_path / "root").ensure()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from tug.store.layout import Layout
        from tug.store.locks import lock
        with lock(Layout({str(layout.root)!r}), "thing"):
            print("held", flush=True)
            sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Unavailable), lock(layout, "thing", blocking=False):
            pass
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with lock(layout, "thing", blocking=False):
        pass
    with pytest.raises(Invalid), lock(layout, "../escape"):
        pass


def test_reopening_takes_no_write_lock_but_repairs_a_missing_table(tmp_path):
    import sqlite3

    db = tmp_path / "tug.db"
    script = textwrap.dedent(f"""
        import sqlite3, sys
        from tug.store.metadata import Metadata
        blocker = sqlite3.connect({str(db)!r}, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another tug command holds the write lock
        Metadata({str(db)!r})  # opening an up-to-date store must not wait for it
        print("opened")
    """)
    Metadata(db)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20,
                       env={"PYTHONPATH": ":".join(sys.path)})
    assert r.stdout.strip() == "opened", r.stderr
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX tags_by_image")
    conn.commit()
    conn.close()
    script2 = f"from tug.store.metadata import Metadata; Metadata({str(db)!r})"
    subprocess.run([sys.executable, "-c", script2], check=True, env={"PYTHONPATH": ":".join(sys.path)})
    names = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert "tags_by_image" in names
