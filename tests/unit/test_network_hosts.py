"""Hosts-file sections per network, rewritten in place."""

from __future__ import annotations

import os

from tug.network import hosts

BASE = "127.0.0.1\tlocalhost\n10.0.0.9\textra\n"
MEMBERS = {"10.89.0.2": {"owner": "a" * 64, "name": "web", "hostname": "aaaaaaaaaaaa", "aliases": ["www"]},
           "10.89.0.3": {"owner": "b" * 64, "name": "db", "hostname": "bbbbbbbbbbbb", "aliases": []}}


def test_section_lines_own_first_then_peers():
    assert hosts.section_lines("a" * 64, MEMBERS, True) == [
        "10.89.0.2\taaaaaaaaaaaa web www", "10.89.0.3\tdb bbbbbbbbbbbb"]
    assert hosts.section_lines("a" * 64, MEMBERS, False) == ["10.89.0.2\taaaaaaaaaaaa web www"]


def test_replace_section_keeps_the_rest():
    one = hosts.replace_section(BASE, "n1", ["10.89.0.2\tweb"])
    two = hosts.replace_section(one, "n2", ["10.90.0.2\tweb"])
    again = hosts.replace_section(two, "n1", ["10.89.0.5\tweb"])
    assert again.startswith(BASE)
    assert "10.89.0.2" not in again and "10.89.0.5\tweb" in again and "10.90.0.2\tweb" in again
    assert hosts.replace_section(again, "n1", None) == hosts.replace_section(BASE, "n2", ["10.90.0.2\tweb"])


def test_rewrite_in_place_keeps_the_inode(tmp_path):
    p = tmp_path / "hosts"
    p.write_text(BASE)
    ino = os.stat(p).st_ino
    assert hosts.rewrite_in_place(str(p), "n1", ["10.89.0.2\tweb"])
    assert os.stat(p).st_ino == ino
    assert p.read_text() == BASE + "# tug network n1\n10.89.0.2\tweb\n# end tug network n1\n"
    assert not hosts.rewrite_in_place(str(tmp_path / "gone"), "n1", [])
