import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rooms_import_only_downwards():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_imports.py")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_catches_a_violation(tmp_path):
    # the checker itself must be able to fail: feed it a module of oci/ importing engine/
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import ast

        import check_imports

        tree = ast.parse("from tug.engine import x\nimport tug.store.content\n")
        assert [t for _, t in check_imports.imported_rooms(tree)] == ["engine", "store"]
        assert "engine" not in check_imports.ALLOWED["oci"]
    finally:
        sys.path.pop(0)
