#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the pool's site, for the tests of `status` and `submit`.

Serves recorded score documents the way www.ntppool.org does (its data API,
https://github.com/ntppool/data-api):
/scores/IP/json answers 301 to /api/data/server/scores/IP/json, which answers what the
scenario of IP says (scenarios.json in the fixture directory):

  {"192.0.2.1": {"document": "healthy.json"},          200 with the file
   "192.0.2.2": {"status": 500, "body": "oops"},        that status and body
   "192.0.2.3": {"delay": 5, "document": "..."},        answers after 5 s
   "192.0.2.4": {"fail_first": 1, "fail_status": 429,   the first request(s) fail,
                 "retry_after": "1", "document": ...}}  then the document
Unknown addresses get 404, like the real site. /verify/TOKEN answers 200 with the client's
address: the ownership proof. Every request is logged as one JSON line (--log) with the client
address, so tests can assert where requests came from. A request in proxy form
(GET http://host/path) is served too and logged as proxied.

Listens on an ephemeral port (written to --port-file once listening), on --bind (127.0.0.1 by
default; "::" is dual-stack), with TLS when --tls-cert and --tls-key are given. Python stdlib only.
"""

import argparse
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

SCORES_PREFIX = "/scores/"
DATA_PREFIX = "/api/data/server/scores/"


class State:
    def __init__(self, fixtures, log_path):
        self.fixtures = fixtures
        with open(os.path.join(fixtures, "scenarios.json"), encoding="utf-8") as f:
            self.scenarios = json.load(f)
        self.log_path = log_path
        self.lock = threading.Lock()
        self.counts = {}

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def log(self, entry):
        if not self.log_path:
            return
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def client_address(raw):
    """An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d; this gives a.b.c.d."""
    return raw[len("::ffff:"):] if raw.startswith("::ffff:") and "." in raw else raw


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pool-api-test/1"

    def log_message(self, fmt, *args):  # quiet: the JSON log is what tests read
        pass

    def send(self, status, body=b"", content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        state = self.server.state
        target = self.path
        proxied = target.startswith("http://") or target.startswith("https://")
        if proxied:
            parts = urllib.parse.urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        parts = urllib.parse.urlsplit(target)
        path, query = parts.path, parts.query
        client = client_address(self.client_address[0])
        state.log({
            "time": time.time(),
            "method": "GET",
            "path": path,
            "query": query,
            "client": client,
            "user_agent": self.headers.get("User-Agent", ""),
            "proxied": proxied,
            "absolute": self.path if proxied else "",
            # As the client sent it: http.server turns a leading "//" into "/" in self.path.
            "target": (self.requestline.split(" ") + ["", ""])[1],
        })

        if path.startswith(SCORES_PREFIX) and path.endswith("/json"):
            ip = path[len(SCORES_PREFIX):-len("/json")]
            location = DATA_PREFIX + ip + "/json" + ("?" + query if query else "")
            self.send(301, b"moved\n", headers=[("Location", location)])
            return
        if path.startswith(DATA_PREFIX) and path.endswith("/json"):
            ip = urllib.parse.unquote(path[len(DATA_PREFIX):-len("/json")])
            self.scores(ip)
            return
        if path.startswith("/verify/"):
            # As the site answers: the URL where the logged-in operator confirms the proof.
            token = path[len("/verify/"):]
            self.send(200, ("https://manage.ntppool.test/manage/verify/" + token + "/" + client +
                            "\n").encode())
            return
        self.send(404, b"not found\n")

    def scores(self, ip):
        state = self.server.state
        scenario = state.scenarios.get(ip)
        if scenario is None:
            self.send(404, b"server not found\n")
            return
        n = state.count(ip)
        if n <= scenario.get("fail_first", 0):
            headers = []
            if "retry_after" in scenario:
                headers.append(("Retry-After", scenario["retry_after"]))
            self.send(scenario.get("fail_status", 503), b"try later\n", headers=headers)
            return
        if "delay" in scenario:
            time.sleep(scenario["delay"])
        if "document" in scenario:
            with open(os.path.join(state.fixtures, scenario["document"]), "rb") as f:
                self.send(scenario.get("status", 200), f.read(), "application/json")
            return
        self.send(scenario.get("status", 200), scenario.get("body", "").encode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, bind, state):
        self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self.state = state
        super().__init__((bind, 0), Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", default="")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()

    server = Server(args.bind, State(args.fixtures, args.log))
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    temporary = args.port_file + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(temporary, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
