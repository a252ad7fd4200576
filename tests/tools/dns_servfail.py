#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A DNS server that answers every query with SERVFAIL: the one DNS fault a real dnsmasq
cannot be made to produce. Usage: dns_servfail.py ADDRESS PORT; prints "ready" once bound."""
import signal
import socket
import sys

address, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in address else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind((address, port))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
while True:
    query, peer = sock.recvfrom(512)
    if len(query) < 12:
        continue
    # Same id and question; QR=1, opcode and RD copied, RA=1, RCODE=2 (SERVFAIL); no records.
    flags = 0x8000 | (query[2] << 8 & 0x7900) | 0x0080 | 2
    reply = query[:2] + flags.to_bytes(2, "big") + query[4:6] + b"\0\0\0\0\0\0" + query[12:]
    sock.sendto(reply, peer)
