"""A small HTTP file server on 127.0.0.1 for tests of downloads (core and plugins).

    with LoopbackServer(folder) as server:
        download([server.url("horse2zebra.zip")], dest, sha256=..., size=...)

It serves the files of a folder, honours `Range: bytes=N-` requests (206 answers), records every
request, and can inject failures: an HTTP status for a path (`fail`), a transfer cut after N bytes
(`cut_after`, the connection closes early), ignoring ranges (`ignore_range`), or N zero bytes sent
after the file (`pad`, counted in Content-Length: a server that sends more than expected). `sent`
holds how many body bytes each path's last answer got out before the client hung up.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


class LoopbackServer:
    """Serve `root` over HTTP on a free loopback port, in a background thread."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.fail: dict[str, int] = {}
        self.cut_after: dict[str, int] = {}
        self.ignore_range = False
        self.pad: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def __enter__(self) -> LoopbackServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                path = unquote(urlparse(self.path).path).lstrip("/")
                owner.requests.append({"path": path, "range": self.headers.get("Range")})
                if path in owner.fail:
                    self.send_error(owner.fail[path])
                    return
                file = owner.root / path
                if not path or ".." in Path(path).parts or not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start = 0
                header = self.headers.get("Range")
                if header and header.startswith("bytes=") and not owner.ignore_range:
                    start = int(header[len("bytes="):].split("-")[0] or 0)
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                pad = owner.pad.get(path, 0)
                self.send_header("Content-Length", str(len(body) + pad))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                cut = owner.cut_after.pop(path, None)
                owner.sent[path] = 0
                try:
                    self._send(path, body if cut is None else body[:cut])
                    if cut is None:
                        zeros = bytes(1 << 16)
                        while pad > 0:
                            pad -= self._send(path, zeros[:pad])
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                if cut is not None:
                    self.close_connection = True

            def _send(self, path: str, data: bytes) -> int:
                self.wfile.write(data)
                owner.sent[path] += len(data)
                return len(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ganzoo-loopback", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
