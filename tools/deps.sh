#!/bin/sh
# Installs every Debian package the project needs. This is the one list; add new dependencies here.
set -e
PACKAGES="make cmake pkg-config gcc g++ libsystemc-dev libgtest-dev googletest libunicorn-dev
gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-system-arm python3
clang libclang-rt-dev llvm gdb-multiarch
gnuplot-nox nlohmann-json3-dev"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
