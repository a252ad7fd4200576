#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# debian_roots_build.sh STORE: the recipe of the Debian roots the distribution tests run in,
# built into STORE/SUITE unless there already. debian_roots_setup.sh keys its cache by a hash of
# this file: a changed recipe gives new roots. Each root is built in a directory of its own and
# renamed when complete, so that a root under STORE/SUITE is always whole.
set -euo pipefail

STORE=${1:?usage: debian_roots_build.sh STORE}
MIRROR=http://deb.debian.org/debian

# SUITE  packages on top of minbase. Each is a server as Debian installs it (systemd as init);
# Debian 12's also has what the container test needs: dbus for systemctl, iproute2, and
# systemd-timesyncd, the time service join must replace. No NTP daemon: pooljoin installs it.
ROOTS="bullseye systemd,systemd-sysv
bookworm systemd,systemd-sysv,dbus,iproute2,systemd-timesyncd
trixie systemd,systemd-sysv"

started=$SECONDS

# remove_tree DIR: a directory of this script's, never crossing into a mount (a build that was
# killed may have left its /proc or /dev mounted: those are unmounted first).
remove_tree() {
  [ -e "$1" ] || return 0
  local mnt
  for mnt in $(findmnt -rn -o TARGET | grep -F "$1/" | sort -r); do umount -l "$mnt" || true; done
  rm -rf --one-file-system "$1"
}

mkdir -p "$STORE"
while read -r suite include; do
  target="$STORE/$suite" tmp="$STORE/.$suite.building"
  [ -d "$target" ] && continue
  remove_tree "$tmp"
  t0=$SECONDS
  # In a mount namespace of its own: whatever mmdebstrap mounts ends with it. The package
  # lists stay in the root, so that the repositories are resolved offline; force-unsafe-io spares
  # the fsyncs (it stays in the root's dpkg.cfg.d: the tests' installs are faster too).
  if ! unshare --mount --propagation private -- mmdebstrap --quiet --variant=minbase \
    --include="$include" --dpkgopt=force-unsafe-io --skip=cleanup/apt/lists \
    --customize-hook='echo "pj-$(. "$1/etc/os-release" && echo "$ID$VERSION_ID")" >"$1/etc/hostname"' \
    "$suite" "$tmp" "deb $MIRROR $suite main" >"$STORE/.$suite.log" 2>&1; then
    tail -30 "$STORE/.$suite.log" >&2
    remove_tree "$tmp"
    echo "debian_roots_build: mmdebstrap $suite failed" >&2
    exit 1
  fi
  mv -T "$tmp" "$target"
  echo "debian_roots_build: the $suite root in $((SECONDS - t0)) s, $(du -sm --one-file-system "$target" | cut -f1) MB"
done <<<"$ROOTS"
echo "debian_roots_build: roots ready in $((SECONDS - started)) s"
