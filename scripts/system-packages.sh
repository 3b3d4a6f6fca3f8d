#!/usr/bin/env bash
# The Debian packages Neurocards needs outside its virtualenv, in one place: `make run`,
# `make test` and `.ci/run` all call this script, so a fresh machine gets the same set whichever
# of them runs first.
#
#   scripts/system-packages.sh run    Python >= 3.11 with venv (until .venv exists)
#   scripts/system-packages.sh test   the above, plus what the tests start: PostgreSQL's server
#                                     (initdb, pg_ctl), Prometheus (prometheus, promtool), and
#                                     Chromium with a colour emoji font for the web chat's browser test
#   scripts/system-packages.sh ci     the above, plus make
#
# Only what is missing is installed: as root, with `apt-get update` first; as anyone else the
# script stops at once with one line naming the exact command to run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose="${1:-test}"
case "$purpose" in run | test | ci) ;; *) echo "usage: $0 run|test|ci" >&2; exit 2 ;; esac
python="${PYTHON:-python3}"
missing=()

has_postgres_server() {
    command -v pg_ctl >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}

has_python() {
    [[ -x .venv/bin/python ]] ||
        "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

has_emoji_font() {
    [[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]]
}

has_python || missing+=(python3 python3-venv python3-dev)
if [[ "$purpose" != run ]]; then
    has_postgres_server || missing+=(postgresql)
    { command -v prometheus && command -v promtool; } >/dev/null || missing+=(prometheus)
    command -v chromium >/dev/null || missing+=(chromium)
    has_emoji_font || missing+=(fonts-noto-color-emoji)
fi
if [[ "$purpose" == ci ]]; then
    command -v make >/dev/null || missing+=(make)
fi

((${#missing[@]})) || exit 0
install="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ "$(id -u)" != 0 ]]; then
    echo "neurocards: missing system packages for '$purpose'; as root run: apt-get update && $install" >&2
    exit 1
fi
echo "system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
