#!/usr/bin/env bash
# Install the Debian 12 packages poolscope needs to build, test and draw charts.
# Idempotent: installs only what is missing.  Run as root (or with sudo).
#   scripts/install-deps.sh            build + tests + charts
#   scripts/install-deps.sh --harness  also what fixtures/harness needs to
#                                      capture fresh logs from real software
#   scripts/install-deps.sh --fuzz     also clang's libFuzzer runtime
set -euo pipefail
pkgs=(build-essential cmake pkg-config git libpcre2-dev libpq-dev libcriterion-dev
      zlib1g-dev libjansson-dev gnuplot-nox postgresql-15 postgresql-client-15 tzdata
      python3 ca-certificates time bc)
for a in "$@"; do
	case "$a" in
	--harness) pkgs+=(python3-sqlalchemy python3-psycopg2 python3-fastapi uvicorn gunicorn) ;;
	--fuzz) pkgs+=(clang libclang-rt-14-dev valgrind) ;;
	*) echo "install-deps.sh: unknown option '$a'" >&2; exit 64 ;;
	esac
done
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
