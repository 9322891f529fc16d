#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up, ruff, the import-direction check, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/python scripts/check_imports.py
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests
rc=$?
set -e
# pytest exits 5 when nothing was collected: that is a failure here too
exit $rc
