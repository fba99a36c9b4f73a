#!/bin/sh
# install-deps.sh [--test] - install the Debian packages sluice needs.
#
#   sh admin/install-deps.sh          build deps (+ python3 for `make run`'s demo)
#   sh admin/install-deps.sh --test   also what `make test` needs
#
# Installs only what is missing, so it is quick and quiet when all is there;
# runs "apt-get update" only when something has to be installed. Works
# unattended (CI=true, no stdin). Not root and something missing: prints the
# command to run and exits 1.
set -eu

BUILD_PKGS="gcc make libc6-dev libssl-dev liblua5.4-dev libcap-dev pkg-config"
DEMO_PKGS="python3"
TEST_PKGS="python3 python3-pytest clang libclang-rt-14-dev openssl socat iproute2"

pkgs="$BUILD_PKGS $DEMO_PKGS"
case "${1:-}" in
--test)	pkgs="$pkgs $TEST_PKGS" ;;
"")	;;
*)	echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; make sure these (or your" \
	     "distribution's equivalents) are installed: $pkgs" >&2
	exit 0
fi

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=""
for p in $pkgs; do
	case " $missing " in *" $p "*) continue ;; esac
	installed "$p" || missing="$missing $p"
done
missing="${missing# }"

if [ -z "$missing" ]; then
	echo "install-deps: all dependencies present"
	exit 0
fi

cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: $missing" >&2
	echo "run as root:  apt-get update && $cmd" >&2
	exit 1
fi

echo "install-deps: installing $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update </dev/null
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y --no-install-recommends $missing </dev/null
