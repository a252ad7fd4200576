#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A DNS forwarder that loses queries: the first DROP datagrams of each question (name and type)
are dropped, the rest forwarded to UPSTREAM and the answers returned; DROP "all" is a server that
is bound and never answers. Each datagram is logged as "NAME TYPE dropped|forwarded".
Usage: dns_lossy.py ADDRESS PORT DROP [UPSTREAM_ADDRESS UPSTREAM_PORT]; prints "ready" once
bound; exits on SIGTERM or after 120 s."""
import select
import signal
import socket
import sys
import time

address, port, drop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
upstream = (sys.argv[4], int(sys.argv[5])) if len(sys.argv) == 6 else None
family = socket.AF_INET6 if ":" in address else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind((address, port))
relay = socket.socket(socket.AF_INET6 if upstream and ":" in upstream[0] else socket.AF_INET,
                      socket.SOCK_DGRAM)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)


def question(query):
    labels, i = [], 12
    while i < len(query) and query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode("ascii", "replace"))
        i += 1 + query[i]
    qtype = int.from_bytes(query[i + 1:i + 3], "big")
    return ".".join(labels), {1: "A", 28: "AAAA"}.get(qtype, str(qtype))


seen = {}
peers = {}  # query id -> client address
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    ready, _, _ = select.select([sock, relay], [], [], 1.0)
    if sock in ready:
        query, peer = sock.recvfrom(512)
        if len(query) < 12:
            continue
        name, qtype = question(query)
        seen[(name, qtype)] = seen.get((name, qtype), 0) + 1
        lost = drop == "all" or seen[(name, qtype)] <= int(drop) or upstream is None
        print(f"{name} {qtype} {'dropped' if lost else 'forwarded'}", flush=True)
        if not lost:
            peers[query[:2]] = peer
            relay.sendto(query, upstream)
    if relay in ready:
        reply, _ = relay.recvfrom(4096)
        peer = peers.pop(reply[:2], None)
        if peer:
            sock.sendto(reply, peer)
