"""The PyPI-strict test index over HTTP, with a real pypiserver behind it for storage.

One process runs both: pypiserver (its own WSGI app and configuration, as its command line
builds them, on a port of its own) and this server in front of it, which
- judges every upload (``POST /`` or ``/legacy/``; ``/legacy`` answers 308) with
  :func:`rules.validate_upload` and answers errors as PyPI does: the message in the status
  line's reason phrase (ISO-8859-1, unencodable characters as ``?``) and a body negotiated by
  ``Accept`` as Pyramid renders it (``{"message", "code", "title"}`` for JSON);
- forwards accepted uploads unchanged to pypiserver, and records them once stored;
- serves PyPI's JSON API (``jsonapi``) from what it accepted, with upload times;
- passes everything else (``/simple/``, ``/packages/``) through to pypiserver;
- offers test knobs under ``/_test/``: ``POST age?project=&version=&days=`` moves a release into
  the past, ``POST config?file_size_limit=BYTES`` sets the file size limit, ``GET log`` lists
  every upload verdict.
Bounded: request bodies up to MAX_BODY bytes, socket timeouts, and (``--exit-with-stdin``) the
process ends when its parent closes stdin.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import jsonapi, rules
from .formdata import FormData, MultipartError, parse_multipart
from .responses import PYRAMID, pyramid_body, reason_phrase

MAX_BODY = 512 * 1024 * 1024
SOCKET_TIMEOUT = 60


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else (None, None)


class Storage:
    """The pypiserver behind the fake."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=SOCKET_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.reason, dict(response.getheaders()), response.read()
        finally:
            connection.close()


class Fake:
    def __init__(self, index: rules.Index, storage: Storage):
        self.index = index
        self.storage = storage
        self.log: list[dict] = []
        # One upload is judged and stored at a time: duplicates, the one-sdist rule and the
        # release's creation see a consistent index.
        self.upload_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    server_version = "warehouse-fake"

    @property
    def fake(self) -> Fake:
        return self.server.fake

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    # --- plumbing --------------------------------------------------------------------------
    def read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length)

    def send(self, status, body=b"", content_type="text/plain", reason=None, headers=()):
        self.send_response(status, reason)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_pyramid(self, status, detail="", headers=()):
        content_type, body = pyramid_body(status, detail, self.headers.get("Accept"))
        reason = reason_phrase(detail) if detail else PYRAMID.get(status, ("",))[0]
        self.send(status, body, content_type, reason, headers)

    def send_json(self, status, value, headers=()):
        body = (json.dumps(value, indent=None) + "\n").encode()
        self.send(status, body, "application/json", headers=headers)

    # --- routes ----------------------------------------------------------------------------
    def do_POST(self):  # noqa: N802 - http.server's name
        path = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        if body is None:
            self.close_connection = True
            return self.send_pyramid(413, "The request is larger than this test index accepts.")
        if path.path.startswith("/_test/"):
            return self.test_knob(path, body)
        if path.path == "/legacy":
            return self.send_pyramid(
                308,
                "An upload was attempted to /legacy but the expected upload URL is /legacy/ "
                "(with a trailing slash)",
                headers=[("Location", "/legacy/")],
            )
        if path.path not in ("/", "/legacy/"):
            return self.send_pyramid(404)
        try:
            form = parse_multipart(body, self.headers.get("Content-Type"))
        except MultipartError:
            form = FormData()
        action = form.get(":action") or urllib.parse.parse_qs(path.query).get(":action", [""])[0]
        if action in ("submit", "submit_pkg_info"):
            return self.send_pyramid(
                410,
                "Project pre-registration is no longer required or supported, upload your "
                "files instead.",
            )
        if action == "doc_upload":
            return self.send_pyramid(
                410,
                "Uploading documentation is no longer supported, we recommend using "
                "https://readthedocs.org/.",
            )
        if action != "file_upload":
            return self.send(200, b"<html><body>Upload page</body></html>", "text/html")
        self.upload(form, body)

    def upload(self, form: FormData, body: bytes):
        username, password = basic_credentials(self.headers.get("Authorization"))
        content = form.get("content")
        filename = getattr(content, "filename", None)
        with self.fake.upload_lock:
            verdict = rules.validate_upload(
                form, self.fake.index, username=username, password=password
            )
            if verdict.rule == "accept":
                status, reason, _, answer = self.fake.storage.request(
                    "POST",
                    "/",
                    body,
                    {
                        name: value
                        for name in ("Content-Type", "Authorization", "User-Agent")
                        if (value := self.headers.get(name)) is not None
                    },
                )
                if 200 <= status < 300:
                    rules.commit(self.fake.index, verdict)
                else:
                    verdict = rules.Verdict(
                        502 if status < 500 else status,
                        f"pypiserver refused the accepted upload: {status} {reason} "
                        f"{answer[:500].decode('utf-8', 'replace')}",
                        "storage",
                    )
            self.fake.log.append(
                {
                    "filename": filename,
                    "status": verdict.status,
                    "rule": verdict.rule,
                    "message": verdict.message,
                }
            )
        print(f"upload {filename}: {verdict.status} {verdict.rule} {verdict.message}", file=sys.stderr)
        if verdict.status == 200:
            return self.send_pyramid(200)
        self.send_pyramid(verdict.status if verdict.status in PYRAMID else 500, verdict.message)

    def do_GET(self):  # noqa: N802
        path = urllib.parse.urlsplit(self.path)
        if path.path == "/_test/log":
            with self.fake.upload_lock:
                return self.send_json(200, list(self.fake.log))
        if match := re.fullmatch(r"/pypi/([^/]+)/(?:([^/]+)/)?json/?", path.path):
            return self.json_api(*match.groups())
        self.pass_through()

    do_HEAD = do_GET

    def pass_through(self):
        headers = {
            name: value
            for name in ("Accept", "Host", "Authorization", "User-Agent")
            if (value := self.headers.get(name)) is not None
        }
        try:
            status, reason, answer_headers, body = self.fake.storage.request(
                self.command, self.path, headers=headers
            )
        except OSError as error:
            return self.send(502, f"pypiserver is unreachable: {error}".encode())
        extra = [(n, v) for n, v in answer_headers.items() if n.lower() in ("location", "etag")]
        self.send(
            status,
            body,
            answer_headers.get("Content-Type", "application/octet-stream"),
            reason,
            extra,
        )

    def json_api(self, name: str, version: str | None):
        with self.fake.upload_lock:
            status, value, headers = jsonapi.answer(
                self.fake.index, f"http://{self.headers.get('Host') or '127.0.0.1'}", name, version
            )
        if status == 301:
            return self.send(301, b"", headers=headers)
        self.send_json(status, value, headers)

    # --- test knobs --------------------------------------------------------------------------
    def test_knob(self, path, body):
        query = {k: v[0] for k, v in urllib.parse.parse_qs(path.query).items()}
        with self.fake.upload_lock:
            if path.path == "/_test/age":
                try:
                    days = float(query.get("days", "nan"))
                    aged = self.fake.index.age(query["project"], query["version"], days)
                except (KeyError, ValueError):
                    return self.send_json(400, {"message": "need project, version and days"})
                if not aged:
                    return self.send_json(404, {"message": "Not Found"})
                return self.send_json(200, {"aged": True})
            if path.path == "/_test/config":
                try:
                    self.fake.index.file_size_limit = int(query["file_size_limit"])
                except (KeyError, ValueError):
                    return self.send_json(400, {"message": "need file_size_limit=BYTES"})
                return self.send_json(200, {"file_size_limit": self.fake.index.file_size_limit})
        self.send_json(404, {"message": "Not Found"})


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, fake: Fake):
        super().__init__(address, Handler)
        self.fake = fake


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietWSGIHandler(WSGIRequestHandler):
    def address_string(self):
        return self.client_address[0]

    def log_message(self, format, *args):  # noqa: A002
        pass


def start_pypiserver(packages: str, htpasswd: str) -> int:
    """pypiserver on 127.0.0.1 (its app and config as `pypi-server run` builds them, here with
    uploads authenticated by `htpasswd`); returns its port."""
    import pypiserver
    from pypiserver.config import Config

    config = Config.from_args(
        [
            "run", "-i", "127.0.0.1", "-p", "0", "-a", "update", "-P", htpasswd,
            "--disable-fallback", "--hash-algo", "sha256", packages,
        ]
    )
    app = pypiserver.setup_routes_from_config(pypiserver.app_from_config(config), config)
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietWSGIHandler
    )
    server.timeout = SOCKET_TIMEOUT
    threading.Thread(target=server.serve_forever, name="pypiserver", daemon=True).start()
    return server.server_address[1]


def write_htpasswd(path: str, token: str) -> None:
    from passlib.apache import HtpasswdFile

    htpasswd = HtpasswdFile(path, new=True)
    htpasswd.set_password("__token__", token)
    htpasswd.save()


def _warm_up():
    """Import the description renderers before the first upload needs them."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rules.render_description("warm *up*", "text/x-rst")
        rules.render_description("warm *up*", "text/markdown")


def _exit_with_stdin():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def serve(packages: str, state_dir: str, token: str, file_size_limit: int, port: int = 0,
          exit_with_stdin: bool = False) -> None:
    htpasswd = os.path.join(state_dir, "htpasswd")
    write_htpasswd(htpasswd, token)
    storage_port = start_pypiserver(packages, htpasswd)
    fake = Fake(rules.Index(tokens={token}, file_size_limit=file_size_limit), Storage(storage_port))
    server = FakeServer(("127.0.0.1", port), fake)
    if exit_with_stdin:
        threading.Thread(target=_exit_with_stdin, daemon=True).start()
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    print(json.dumps({"port": server.server_address[1], "storage_port": storage_port}), flush=True)
    server.serve_forever()
