#!/usr/bin/env bash
# The main job: Colossal Cave Adventure in a container, built locally from Debian's package mirror.
# First run: set-up, then a Debian bookworm minbase root with the open-adventure package (mmdebstrap, ~15 s),
# imported as the image `open-adventure`. Later runs reuse the image.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
TUG=.venv/bin/tug
if ! "$TUG" image inspect open-adventure >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "Building open-adventure from Debian bookworm (mmdebstrap)..." >&2
  mmdebstrap --quiet --variant=minbase --include=open-adventure --format=tar bookworm "$tmp/rootfs.tar" >&2
  "$TUG" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games' \
    --change 'WORKDIR /usr/games' \
    --change 'CMD ["advent"]' \
    "$tmp/rootfs.tar" open-adventure >&2
fi
tty=()
[ -t 0 ] && tty=(-t)
exec "$TUG" run --rm -i "${tty[@]}" open-adventure advent "$@"
