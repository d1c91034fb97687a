"""A local HTTP server that plays the other platforms in calendar tests.

Each path answers what the test set for it (body, status, delay, headers) and can be changed
between syncs. The server counts requests per path and the most connections it had open at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (timeout tests) is expected


class FeedServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.replies: dict[str, Reply] = {}
        self.hits: Counter[str] = Counter()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - the base class's name
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in two writes; without this, Nagle's algorithm holds the
                # body until the client's delayed ACK (40 ms) — a delay no real platform adds.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self):  # noqa: N802 - http.server's name
                owner._enter(self.path)
                try:
                    reply = owner.replies.get(self.path.split("?")[0], Reply(b"", 404))
                    if reply.delay:
                        time.sleep(reply.delay)
                    try:
                        self.send_response(reply.status)
                        self.send_header("Content-Type", "text/calendar; charset=utf-8")
                        self.send_header("Content-Length", str(len(reply.body)))
                        self.send_header("Connection", "close")
                        for name, value in reply.headers.items():
                            self.send_header(name, value)
                        self.end_headers()
                        self.wfile.write(reply.body)
                    except OSError:
                        pass
                finally:
                    owner._leave()

        self._server = _Server((host, 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _enter(self, path: str) -> None:
        with self._lock:
            self.hits[path.split("?")[0]] += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def set(self, path: str, body: bytes = b"", **kwargs) -> str:
        self.replies[path] = Reply(body, **kwargs)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def vevent(uid: str, first, end, summary: str = "Reserved") -> str:
    """An all-day event blocking first ≤ night < end."""
    return (
        "BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\n"
        "DTSTAMP:20261129T080000Z\r\n"
        f"DTSTART;VALUE=DATE:{first:%Y%m%d}\r\n"
        f"DTEND;VALUE=DATE:{end:%Y%m%d}\r\n"
        f"SUMMARY:{summary}\r\n"
        "END:VEVENT\r\n"
    )


def calendar(*events: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test platform//EN\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    ).encode()
