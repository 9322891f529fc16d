#!/usr/bin/env bash
# The main job: Colossal Cave Adventure in a container, built with `tug build` from examples/open-adventure.
# First run: set-up, then the base image `debian:bookworm` made locally from Debian's package mirror (mmdebstrap
# minbase, imported once), then `tug build` (apt-get installs open-adventure in a build container). Later runs are
# cache hits: no container runs, the build takes a fraction of a second.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
TUG=.venv/bin/tug
if ! "$TUG" image inspect debian:bookworm >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "Making the base image debian:bookworm from Debian's mirror (mmdebstrap)..." >&2
  mmdebstrap --quiet --variant=minbase --format=tar bookworm "$tmp/rootfs.tar" >&2
  "$TUG" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$tmp/rootfs.tar" debian:bookworm >&2
fi
# RUN apt-get reaches Debian's mirror through the host's network (the build machine may have no NAT for bridges)
"$TUG" build --network host -t open-adventure examples/open-adventure >&2
tty=()
[ -t 0 ] && tty=(-t)
exec "$TUG" run --rm -i "${tty[@]}" open-adventure advent "$@"
