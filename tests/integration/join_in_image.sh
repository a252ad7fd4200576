#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# join_in_image.sh NETNS ROOT CMD...: runs CMD in network namespace NETNS with the host's /usr
# (read-only) and /dev mounted in the system image ROOT, in a mount namespace that ends with it.
# Every step execs: CMD gets this process's PID and its signals.
set -euo pipefail
ns=$1
shift
exec ip netns exec "$ns" unshare -m --propagation private bash -c '
  root=$1
  shift
  mount --bind /usr "$root/usr" && mount -o remount,bind,ro "$root/usr" &&
    mount --bind /dev "$root/dev" && exec "$@"' _ "$@"
