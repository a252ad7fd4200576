# SPDX-License-Identifier: Apache-2.0
# What a client elsewhere gets from NTP servers, all asked at once: each argument is
# KIND:ADDRESS, KIND being "time" (one NTPv4 mode 3 query, as a pool monitor sends) or "mode6"
# (one mode 6 READVAR of the system variables, as `ntpq -c rv` sends). The first option
# `-t SECONDS` bounds the wait for each (default 1). One line per argument, in their order:
#   time ADDRESS reply LI STRATUM REFID   a server reply (mode 4) echoing our transmit timestamp
#   time ADDRESS kod CODE                 a kiss-o'-death (stratum 0; DENY, RSTR, RATE...)
#   mode6 ADDRESS answer                  a mode 6 response without the error bit
#   mode6 ADDRESS error                   a mode 6 response with the error bit
#   KIND ADDRESS none                     nothing (or nothing valid) within the wait
# A peer tool of the tests, independent of pooljoin's own probes; it never sets a clock.
import os
import socket
import sys
import threading

args = sys.argv[1:]
timeout = 1.0
if args[:1] == ["-t"]:
    timeout = float(args[1])
    args = args[2:]


def family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def ask_time(address):
    with socket.socket(family(address), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        xmt = os.urandom(8)
        s.sendto(bytes([0x23]) + bytes(39) + xmt, (address, 123))
        try:
            data = s.recv(1024)
        except (socket.timeout, ConnectionRefusedError):
            return "none"
    if len(data) < 48 or data[0] & 7 != 4 or data[24:32] != xmt:
        return "none"
    refid = data[12:16].decode("ascii", "replace").strip("\0") if data[1] <= 1 else \
        ".".join(map(str, data[12:16]))
    if data[1] == 0 and refid in ("DENY", "RSTR", "RATE"):
        return "kod " + refid
    return "reply %d %d %s" % (data[0] >> 6, data[1], refid or "-")


def ask_mode6(address):
    with socket.socket(family(address), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        # LI 0, VN 2, mode 6; READVAR (2), sequence 1, association 0, no payload.
        s.sendto(bytes([0x16, 2, 0, 1]) + bytes(8), (address, 123))
        try:
            data = s.recv(2048)
        except (socket.timeout, ConnectionRefusedError):
            return "none"
    if len(data) < 12 or data[0] & 7 != 6 or not data[1] & 0x80 or data[2:4] != b"\0\1":
        return "none"
    return "error" if data[1] & 0x40 else "answer"


results = [None] * len(args)


def run(i, arg):
    kind, address = arg.split(":", 1)
    results[i] = "%s %s %s" % (kind, address, (ask_time if kind == "time" else ask_mode6)(address))


threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(results))
