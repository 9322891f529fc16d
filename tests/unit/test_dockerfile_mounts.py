"""`RUN --mount=...` parsing (dockerfile/mounts.py): cache, ssh, bind, tmpfs and secret fields, defaults and the
errors docker gives, from a table."""

from __future__ import annotations

import pytest

from tug.dockerfile.mounts import Mount, parse_mount
from tug.errors import Invalid

OK = [
    ("type=cache,target=/root/.cache", Mount(type="cache", target="/root/.cache", readonly=False)),
    ("type=cache,id=pip,target=/c,sharing=locked", Mount(type="cache", target="/c", id="pip", sharing="locked",
                                                         readonly=False)),
    ("type=cache,target=/c,sharing=PRIVATE", Mount(type="cache", target="/c", sharing="private", readonly=False)),
    ("type=cache,target=/c,sharing=shared,uid=1000,gid=1000,mode=0700",
     Mount(type="cache", target="/c", sharing="shared", uid=1000, gid=1000, mode=0o700, readonly=False)),
    ("type=cache,target=/c,from=seed,source=/seed", Mount(type="cache", target="/c", from_="seed", source="/seed",
                                                          readonly=False)),
    ("type=cache,dst=/c,ro", Mount(type="cache", target="/c", readonly=True)),
    ("type=ssh", Mount(type="ssh", readonly=True)),
    ("type=ssh,id=gh,target=/agent,required", Mount(type="ssh", id="gh", target="/agent", required=True)),
    ("type=ssh,required=false,mode=0660,uid=5", Mount(type="ssh", required=False, mode=0o660, uid=5)),
    ("type=bind,source=src,target=/src,rw", Mount(type="bind", source="src", target="/src", readonly=False)),
    ("target=/t", Mount(type="bind", target="/t")),
    ("type=tmpfs,target=/t,size=64m", Mount(type="tmpfs", target="/t", size=64 << 20, readonly=False)),
    ("type=secret,id=tok", Mount(type="secret", id="tok")),
]


@pytest.mark.parametrize("spec,want", OK, ids=[s for s, _ in OK])
def test_parse(spec, want):
    assert parse_mount(spec, lambda v: v) == want


BAD = [
    ("type=bind,target=/t,sharing=locked", "invalid cache sharing set for bind mount"),
    ("type=cache,target=/c,sharing=sometimes", 'unsupported sharing value "sometimes"'),
    ("type=bind,target=/t,uid=1", 'uid not allowed for "bind" type mounts'),
    ("type=tmpfs,target=/t,mode=0700", 'mode not allowed for "tmpfs" type mounts'),
    ("type=cache,target=/c,required", "unexpected key 'required' for mount type 'cache'"),
    ("type=cache,target=/c,uid=-1", "invalid value -1 for uid"),
    ("type=cache,target=/c,mode=999", "invalid value 999 for mode"),
    ("type=ssh,required=maybe", "invalid value for required: maybe"),
    ("type=nfs,target=/x", 'unsupported mount type "nfs"'),
    ("type=cache,target=/c,size=1m", "unexpected key 'size' for mount type 'cache'"),
    ("type=cache,target=/c,from=$STAGE", "'from' doesn't support variable expansion, define alias stage instead"),
    ("type=secret,id=a,source=b", "both source and id can't be set"),
]


@pytest.mark.parametrize("spec,message", BAD, ids=[s for s, _ in BAD])
def test_errors(spec, message):
    with pytest.raises(Invalid) as err:
        parse_mount(spec, lambda v: v)
    assert err.value.message == message


def test_values_are_expanded_and_unexpanded_ones_wait():
    env = {"ID": "pip", "T": "/c"}
    m = parse_mount("type=cache,id=$ID,target=$T,sharing=locked", lambda v: v.replace("$ID", env["ID"])
                    .replace("$T", env["T"]))
    assert (m.id, m.target, m.sharing) == ("pip", "/c", "locked")
    early = parse_mount("type=cache,id=$ID,target=/c")
    assert early.id == "$ID"  # kept for the stage's variables
