#!/usr/bin/env bash
# Rebuild models/default/transition.pt and its model card from free music in Debian packages.
#
# Needs: a Debian/Ubuntu system with apt-get and dpkg-deb (the packages are downloaded, not installed),
# network access for the download, and a Python environment with mixdesk installed (pip install -e .).
# Audio stays in WORK (default /tmp/debmusic); nothing is written into the repository but models/default/.
#
#   models/recipe/build_default_model.sh                 # fetch, import, train, evaluate, write the model
#   WORK=/data/debmusic models/recipe/build_default_model.sh --epochs 60 --device cuda
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${WORK:-/tmp/debmusic}"
python="${PYTHON:-python3}"

mkdir -p "$work"
if [ -z "$(ls "$work"/debs/*.deb 2>/dev/null)" ]; then
    # apt-get download needs current package lists; this changes nothing that is installed.
    if [ "$(id -u)" = 0 ]; then apt-get update -qq; else sudo apt-get update -qq; fi
fi
exec "$python" "$here/build_default_model.py" --work "$work" "$@"
