#!/bin/sh
# Installs cachesim's Debian build dependencies when they are missing.
# Called once by the Makefile (build/.deps-ok); safe to run by hand.
set -e
missing=""
have_pc() { pkg-config --exists "$1" 2>/dev/null; }
command -v cc >/dev/null 2>&1 || missing="$missing build-essential"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
have_pc libzstd || missing="$missing libzstd-dev"
have_pc zlib || missing="$missing zlib1g-dev"
have_pc check || missing="$missing check"
command -v gnuplot >/dev/null 2>&1 || missing="$missing gnuplot-nox"
[ -n "$missing" ] || exit 0
echo "deps.sh: installing:$missing" >&2
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else
    echo "deps.sh: need root to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
