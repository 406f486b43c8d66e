#!/usr/bin/env bash
# Build the one-folder app with PyInstaller and smoke-test it offscreen with --screenshot.
# PyInstaller goes into a throwaway folder, not into the project's environment.
# Usage: packaging/build_and_smoke.sh [PYTHON]   (default: .venv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
WORK="${MIXDESK_BUILD_DIR:-build/pyinstaller}"
TOOLS="$WORK/tools"
mkdir -p "$WORK"
if [ ! -d "$TOOLS/PyInstaller" ]; then
    "$PY" -m pip install --quiet --target "$TOOLS" "pyinstaller>=6.10"
fi
export QT_QPA_PLATFORM=offscreen
"$PY" packaging/make_icon.py >/dev/null
echo "building (this analyses torch and Qt; several minutes)..." >&2
PYTHONPATH="$TOOLS" "$PY" -m PyInstaller --noconfirm --log-level WARN \
    --workpath "$WORK/work" --distpath "$WORK/dist" packaging/mixdesk.spec
APP="$WORK/dist/mixdesk/mixdesk"
SIZE=$(du -sh "$WORK/dist/mixdesk" | cut -f1)
echo "bundle: $WORK/dist/mixdesk ($SIZE)"

SMOKE=$(mktemp -d)
export MIXDESK_HOME="$SMOKE/home"
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
"$APP" gui --quit-after-ms 1 >"$SMOKE/warm.log" 2>&1  # first run fills the OS file cache
start=$(date +%s%N)
"$APP" gui --quit-after-ms 1 >"$SMOKE/start.log" 2>&1
echo "start-up to first window and exit: $(ms_since "$start") ms"
start=$(date +%s%N)
"$APP" gui --demo --screenshot "$SMOKE/smoke.png" --quit-after-ms 300000 >"$SMOKE/gui.log" 2>&1 || true
took="$(ms_since "$start") ms"
if [ ! -s "$SMOKE/smoke.png" ]; then
    echo "smoke test FAILED: no screenshot; log follows" >&2
    tail -40 "$SMOKE/gui.log" >&2
    exit 1
fi
echo "smoke test passed: $SMOKE/smoke.png ($(du -h "$SMOKE/smoke.png" | cut -f1), demo + screenshot in ${took})"
