#!/usr/bin/env python3
"""A registry front that only speaks the anonymous bearer-token flow (distribution's token
authentication spec), so `sbx pull` must go through it to reach real content.

/v2/ requests without a token bound to the repository's pull scope get 401 and a Bearer
challenge; /token hands out such tokens; authorized requests are forwarded to the real
docker-registry behind it. Every token request and every refusal is logged, one line each, for
the test to read. Stdlib only: the test hosts have no pip.

usage: token-registry.py UPSTREAM(host:port) LOG [--token-status N] [--token-uses N] [--bad-token]
Listens on a kernel-picked port of 127.0.0.1 and prints it as its first line of stdout."""
import argparse
import http.client
import http.server
import json
import re
import secrets
import sys
import threading
import urllib.parse

SERVICE = "sbx-test-registry"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}

args = None
lock = threading.Lock()
tokens = {}  # token -> [scope, uses left (-1: unlimited)]


def log(line):
    with lock, open(args.log, "a") as f:
        f.write(line + "\n")


class Front(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):  # the log file holds only what the test reads
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/token":
            self.token(urllib.parse.parse_qs(u.query))
        elif u.path.startswith("/v2/"):
            self.v2(u.path)
        else:
            self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})

    do_HEAD = do_GET

    def token(self, q):
        service = q.get("service", [""])
        scopes = q.get("scope", [])
        log("token service=%s scope=%s" % (",".join(service), ",".join(scopes)))
        if args.token_status != 200:
            self.reply(args.token_status, {"errors": [{"code": "UNAVAILABLE"}]})
            return
        # The spec's scope grammar, narrowed to what an anonymous pull may ask for.
        if service != [SERVICE] or len(scopes) != 1 or not re.fullmatch(
            r"repository:[a-z0-9]+(?:[._/-][a-z0-9]+)*:pull", scopes[0]
        ):
            self.reply(400, {"errors": [{"code": "DENIED", "message": "bad service or scope"}]})
            return
        tok = "not-a-token-the-registry-knows" if args.bad_token else secrets.token_hex(16)
        if not args.bad_token:
            with lock:
                tokens[tok] = [scopes[0], args.token_uses]
        self.reply(200, {"token": tok, "expires_in": 300})

    def authorized(self, scope):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return "absent"
        with lock:
            t = tokens.get(auth[7:])
            if not t or (scope and t[0] != scope):
                return "refused"
            if t[1] == 0:
                return "expired"
            if t[1] > 0:
                t[1] -= 1
        return None

    def v2(self, path):
        m = re.fullmatch(r"/v2/(.+)/(?:manifests|blobs|tags)/[^/]+(?:/list)?", path)
        scope = "repository:%s:pull" % m.group(1) if m else ""
        why = self.authorized(scope)
        if why:
            log("401 %s %s token=%s" % (self.command, path, why))
            host = self.server.server_address
            challenge = 'Bearer realm="http://%s:%d/token",service="%s"' % (
                host[0], host[1], SERVICE)
            if scope:
                challenge += ',scope="%s"' % scope
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                       [("WWW-Authenticate", challenge)])
            return
        self.forward()

    def forward(self):
        up = http.client.HTTPConnection(args.upstream, timeout=60)
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in HOP_BY_HOP and k.lower() not in ("host", "authorization")}
        up.request(self.command, self.path, headers=hdrs)
        resp = up.getresponse()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.end_headers()
        while self.command != "HEAD":
            chunk = resp.read(65536)
            if not chunk:
                break
            self.wfile.write(chunk)
        up.close()


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("upstream")
    p.add_argument("log")
    p.add_argument("--token-status", type=int, default=200, help="status /token answers")
    p.add_argument("--token-uses", type=int, default=-1,
                   help="authorized requests per token before it expires (-1: never)")
    p.add_argument("--bad-token", action="store_true",
                   help="/token hands out a token the front then refuses")
    args = p.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
