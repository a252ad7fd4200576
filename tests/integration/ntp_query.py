# SPDX-License-Identifier: Apache-2.0
# One NTPv4 client query (mode 3) to ADDRESS:123; prints "LI stratum REFID" of a reply whose
# origin timestamp echoes the query, or fails after 2 s. A peer tool of the tests, independent
# of pooljoin's own probe.
import os
import socket
import sys

address = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
xmt = os.urandom(8)
s.sendto(bytes([0x23]) + bytes(39) + xmt, (address, 123))
data = s.recv(1024)
if len(data) < 48 or data[0] & 7 != 4 or data[24:32] != xmt:
    sys.exit("not a reply to our query")
if data[1] <= 1:
    refid = data[12:16].decode("ascii", "replace").strip("\0")
else:
    refid = ".".join(map(str, data[12:16]))
print(data[0] >> 6, data[1], refid)
