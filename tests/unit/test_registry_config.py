import base64
import json
import os
import stat

import pytest

from tug.errors import Invalid
from tug.registry import auth_store
from tug.registry.auth_store import AuthStore
from tug.registry.config import RegistryConfig, api_host, default_paths, is_loopback, load, load_default, split_host

TOML = """
user_agent = "tug-test/1"
timeout = 5
retries = 2
max_retry_wait = 3.5
chunk_size = 1048576

[registries."docker.io"]
mirrors = ["mirror.example:5000", "127.0.0.1:5001"]

[registries."reg.example:5000"]
insecure = true
plain_http = true
ca_file = "/etc/x.pem"
"""


def test_load_file(tmp_path):
    p = tmp_path / "registries.toml"
    p.write_text(TOML)
    cfg = load(p, credentials=lambda h: None)
    assert cfg.user_agent == "tug-test/1"
    assert cfg.read_timeout == cfg.connect_timeout == 5.0 and cfg.retries == 2 and cfg.max_retry_wait == 3.5
    assert cfg.chunk_size == 1048576
    assert cfg.mirrors_for("docker.io") == ["mirror.example:5000", "127.0.0.1:5001"]
    assert cfg.mirrors_for("quay.io") == []
    assert not cfg.verify_tls("reg.example:5000") and cfg.verify_tls("quay.io")
    assert cfg.may_use_http("reg.example:5000") and not cfg.may_use_http("quay.io")
    assert cfg.ca_files == {"reg.example:5000": "/etc/x.pem"}


def test_missing_file_gives_defaults(tmp_path):
    cfg = load(tmp_path / "none.toml", credentials=lambda h: None)
    assert cfg.mirrors == {} and cfg.retries == RegistryConfig().retries


@pytest.mark.parametrize("text", [
    "retries = -1", "timeout = 'x'", "[registries.'a']\nmirrors = 'b'", "[registries.'a']\ninsecure = 'yes'",
    "[registries.'a']\nbogus = 1", "not toml [", "registries = 3",
])
def test_bad_files(tmp_path, text):
    p = tmp_path / "r.toml"
    p.write_text(text)
    with pytest.raises(Invalid) as e:
        load(p, credentials=lambda h: None)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_load_default_prefers_store_root(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "tug").mkdir(parents=True)
    (tmp_path / "xdg" / "tug" / "registries.toml").write_text('user_agent = "from-xdg"')
    assert default_paths(tmp_path / "root")[-1] == tmp_path / "xdg" / "tug" / "registries.toml"
    assert load_default(tmp_path / "root", credentials=lambda h: None).user_agent == "from-xdg"
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "registries.toml").write_text('user_agent = "from-root"')
    assert load_default(tmp_path / "root", credentials=lambda h: None).user_agent == "from-root"


@pytest.mark.parametrize("host,expect", [
    ("127.0.0.1:5000", True), ("127.1.2.3", True), ("localhost:5000", True), ("localhost", True),
    ("[::1]:5000", True), ("::1", True), ("10.0.0.1:5000", False), ("quay.io", False), ("localhost.example", False),
    ("[::2]:5000", False),
])
def test_loopback(host, expect):
    assert is_loopback(host) is expect


def test_split_and_api_host():
    assert split_host("[::1]:5000") == ("::1", 5000)
    assert split_host("quay.io") == ("quay.io", None)
    assert split_host("h:80") == ("h", 80)
    assert api_host("docker.io") == "registry-1.docker.io" and api_host("quay.io") == "quay.io"


def test_config_repr_hides_credentials():
    cfg = RegistryConfig(credentials=lambda h: ("user", "s3cret"))
    assert "s3cret" not in repr(cfg)


# -- auth store ---------------------------------------------------------------------------------------------------

def test_auth_store_round_trip(tmp_path):
    path = tmp_path / "d" / "config.json"
    store = AuthStore(path)
    assert store.get("127.0.0.1:5000") is None
    store.login("127.0.0.1:5000", "alice", "pa:ss word")
    store.login("docker.io", "bob", "hub")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert store.get("127.0.0.1:5000") == ("alice", "pa:ss word")
    assert store.get("registry-1.docker.io") == ("bob", "hub") == store.get("index.docker.io")
    doc = json.loads(path.read_text())
    assert set(doc["auths"]) == {"127.0.0.1:5000", "https://index.docker.io/v1/"}
    assert base64.b64decode(doc["auths"]["127.0.0.1:5000"]["auth"]) == b"alice:pa:ss word"
    assert "s3cret" not in repr(store)
    assert store.logout("127.0.0.1:5000") is True
    assert store.logout("127.0.0.1:5000") is False
    assert store.get("127.0.0.1:5000") is None and store.get("docker.io") == ("bob", "hub")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_auth_store_reads_existing_docker_config_and_keeps_other_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({
        "auths": {"https://quay.io/v1/": {"auth": base64.b64encode(b"q:w").decode()},
                  "http://h:5000": {"username": "u", "password": "p"}},
        "psFormat": "table {{.ID}}",
    }))
    store = AuthStore()
    assert store.path == tmp_path / "config.json" == auth_store.default_path()
    assert store.get("quay.io") == ("q", "w") and store.get("h:5000") == ("u", "p")
    store.login("quay.io", "q2", "w2")
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["psFormat"] == "table {{.ID}}" and list(doc["auths"]).count("quay.io") == 1
    assert "https://quay.io/v1/" not in doc["auths"] and store.get("quay.io") == ("q2", "w2")


def test_auth_store_bad_input(tmp_path):
    p = tmp_path / "config.json"
    p.write_text("{not json")
    with pytest.raises(Invalid):
        AuthStore(p).get("x")
    with pytest.raises(Invalid):
        AuthStore(tmp_path / "other.json").login("x", "a:b", "c")


def test_load_uses_auth_store_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    AuthStore().login("reg.example", "u", "p")
    cfg = load(tmp_path / "missing.toml")
    assert cfg.credentials("reg.example") == ("u", "p") and cfg.credentials("other") is None


def test_ca_file_from_config_then_certs_d(tmp_path):
    (tmp_path / "certs.d" / "reg.example:5000").mkdir(parents=True)
    (tmp_path / "certs.d" / "reg.example:5000" / "ca.crt").write_text("x")
    cfg = RegistryConfig(certs_dirs=[str(tmp_path / "none"), str(tmp_path / "certs.d")])
    assert cfg.ca_file("reg.example:5000") == str(tmp_path / "certs.d" / "reg.example:5000" / "ca.crt")
    assert cfg.ca_file("other") is None
    cfg.ca_files["reg.example:5000"] = "/explicit.pem"
    assert cfg.ca_file("reg.example:5000") == "/explicit.pem"
