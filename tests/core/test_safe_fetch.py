"""Fetching user-supplied URLs safely (DESIGN §8). No network but loopback: other host names go
through a fake resolver, and every connection attempt is recorded."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rentalcoop import safe_fetch
from rentalcoop.errors import DomainError
from rentalcoop.safe_fetch import FetchError, UnsafeURL, check_url, fetch, is_refused_address

CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
PUBLIC_V4 = "93.184.216.34"


@pytest.fixture
def connections(monkeypatch):
    """Every outgoing connection attempt, as (host, port); the proof that nothing was reached."""
    attempts: list[tuple[str, int]] = []
    real_create = socket.create_connection
    real_connect = socket.socket.connect

    def create_connection(address, *args, **kwargs):
        attempts.append((address[0], address[1]))
        return real_create(address, *args, **kwargs)

    def connect(self, address):
        if isinstance(address, tuple) and address not in attempts:
            attempts.append((address[0], address[1]))
        return real_connect(self, address)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture
def dns(monkeypatch):
    """A fake resolver: `dns.names[host] = ["1.2.3.4", ...]`; `dns.lookups` records queries.
    `localhost` still resolves for real (locally)."""
    real = socket.getaddrinfo

    class Resolver:
        names: dict[str, list[str]] = {}
        lookups: list[str] = []

        def __call__(self, host, port, *args, **kwargs):
            try:
                ipaddress.ip_address(host)
            except ValueError:
                pass
            else:  # an address literal (socket.create_connection passes the pinned one)
                return real(host, port, *args, **kwargs)
            self.lookups.append(host)
            if host == "localhost":
                return real(host, port, *args, **kwargs)
            answers = self.names.get(host)
            if answers is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            if callable(answers):
                answers = answers()
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (a, port, 0, 0) if ":" in a else (a, port),
                )
                for a in answers
            ]

    resolver = Resolver()
    resolver.names = {}
    resolver.lookups = []
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


class Server:
    """A loopback HTTP server; `routes[path] = fn(handler)` answers a request."""

    def __init__(self):
        self.routes = {}
        self.requests: list[dict] = []
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, **dict(self.headers.items())})
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.reply(404, b"Not Found")
                else:
                    route(self)

            def reply(self, status, body=b"", **headers):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    srv.routes["/feed.ics"] = lambda h: h.reply(200, CALENDAR, ETag='"v1"')
    yield srv
    srv.close()


# -- the SSRF table of the acceptance criteria --------------------------------------------------


REFUSED_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://LOCALHOST./feed.ics",
    "http://app.localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://100.64.0.1/",
    "http://192.0.0.170/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.1/",
    "http://[64:ff9b::a00:1]/",
    "http://[64:ff9b:1::a00:1]/",
    "http://[2002:c0a8:101::]/",
    "http://[2001::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "webcal://10.0.0.1/calendar.ics",
    "https://192.168.1.1:8443/x.ics",
    "file:///etc/passwd",
    "gopher://127.0.0.1:70/_GET%20/",
    "gopher://calendar.example/1",
    "ftp://calendar.example/cal.ics",
    "dict://127.0.0.1:11211/stats",
    "javascript:alert(1)",
    "http://user:password@calendar.example/cal.ics",
    "https://user@calendar.example/cal.ics",
    "http://:@calendar.example/",
    "http://calendar.example\\@10.0.0.1/",
    "http://calendar.example%40127.0.0.1/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://intranet/",
    "http://printer.local/",
    "http://nas.lan/",
    "http://rebind.example/",
    "http://mixed.example/",
    "http://v6private.example/",
    "http:///feed.ics",
    "http://calendar.example:99999/",
    "http://calendar.example/a b",
    "",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_refused_without_any_connection(url, connections, dns):
    dns.names = {
        "calendar.example": [PUBLIC_V4],
        "rebind.example": ["10.0.0.1"],
        "mixed.example": [PUBLIC_V4, "127.0.0.1"],
        "v6private.example": ["fd12:3456::1"],
    }
    with pytest.raises(UnsafeURL) as caught:
        fetch(url)
    assert connections == []
    assert isinstance(caught.value, DomainError)
    assert caught.value.status_code == 422
    assert caught.value.message


def test_redirect_from_an_allowed_server_to_a_private_address_is_refused(server, connections, dns):
    dns.names = {"internal.example": ["192.168.1.1"]}
    server.routes["/to-ip"] = lambda h: h.reply(302, Location="http://10.0.0.1/feed.ics")
    server.routes["/to-name"] = lambda h: h.reply(301, Location="http://internal.example/")
    server.routes["/to-metadata"] = lambda h: h.reply(
        307, Location="http://169.254.169.254/latest/meta-data/"
    )
    server.routes["/to-file"] = lambda h: h.reply(302, Location="file:///etc/passwd")
    for path in ("/to-ip", "/to-name", "/to-metadata", "/to-file"):
        connections.clear()
        with pytest.raises(UnsafeURL):
            fetch(server.url + path, allow_loopback=True)
        assert connections == [("127.0.0.1", server.port)], path


def test_allow_loopback_permits_loopback_and_nothing_else(connections, dns):
    dns.names = {"rebind.example": ["10.0.0.1"]}
    for url in (
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://rebind.example/",
    ):
        with pytest.raises(UnsafeURL):
            fetch(url, allow_loopback=True)
    assert connections == []
    assert check_url("http://127.0.0.5:8080/x", allow_loopback=True).address == "127.0.0.5"
    assert check_url("http://[::1]:8080/x", allow_loopback=True).address == "::1"


def test_loopback_server_is_refused_unless_allowed(server, connections):
    with pytest.raises(UnsafeURL):
        fetch(server.url + "/feed.ics")
    assert connections == []


# -- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC_V4,
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:93.184.216.34",  # mapped, unwraps to a public address
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
        "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
    ],
)
def test_global_addresses_are_allowed(address):
    assert not is_refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "100.127.255.255",
        "169.254.169.254",
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "::",
        "::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "2001:db8::1",
        "fd00::1",
        "ff05::2",
    ],
)
def test_private_and_special_addresses_are_refused(address):
    assert is_refused_address(ipaddress.ip_address(address))


def test_webcal_becomes_https_and_host_is_resolved_once(dns, connections):
    dns.names = {"p42-caldav.icloud.example": [PUBLIC_V4]}
    target = check_url("webcal://p42-caldav.icloud.example/published/2/abc")
    assert (target.scheme, target.port, target.address) == ("https", 443, PUBLIC_V4)
    assert target.url == "https://p42-caldav.icloud.example/published/2/abc"
    assert dns.lookups == ["p42-caldav.icloud.example"]
    assert connections == []


def test_unknown_host_is_a_fetch_error_without_connection(dns, connections):
    with pytest.raises(FetchError) as caught:
        fetch("https://no-such-host.example/cal.ics")
    assert connections == []
    assert "no-such-host.example" in caught.value.message


# -- fetching from a loopback server -------------------------------------------------------------


def test_fetch_from_loopback_server(server, connections):
    result = fetch(server.url + "/feed.ics?s=abc", allow_loopback=True)
    assert result.status == 200
    assert result.body == CALENDAR
    assert result.etag == '"v1"'
    assert result.final_url == server.url + "/feed.ics?s=abc"
    assert not result.not_modified
    request = server.requests[-1]
    assert request["path"] == "/feed.ics?s=abc"
    assert request["Host"] == f"127.0.0.1:{server.port}"
    assert request["User-Agent"].startswith("rentalcoop-calendar-sync/")
    assert "(+https://" in request["User-Agent"]
    assert "gzip" in request["Accept-Encoding"]
    assert "If-None-Match" not in request
    assert connections == [("127.0.0.1", server.port)]


def test_connects_to_the_pinned_address_with_the_hosts_name(server, connections, dns):
    # The second answer (a DNS rebinding) must never be asked for, let alone used.
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    dns.names = {"calendar.example": lambda: next(answers)}
    result = fetch(f"http://calendar.example:{server.port}/feed.ics", allow_loopback=True)
    assert result.body == CALENDAR
    assert dns.lookups == ["calendar.example"]
    assert connections == [("127.0.0.1", server.port)]
    assert server.requests[-1]["Host"] == f"calendar.example:{server.port}"


def test_localhost_name_works_when_loopback_is_allowed(server):
    result = fetch(f"http://localhost:{server.port}/feed.ics", allow_loopback=True)
    assert result.body == CALENDAR


def test_conditional_get_answers_304(server):
    def route(h):
        if h.headers.get("If-None-Match") == '"v1"':
            h.reply(304, ETag='"v1"')
        else:
            h.reply(200, CALENDAR, ETag='"v1"')

    server.routes["/cond.ics"] = route
    result = fetch(server.url + "/cond.ics", etag='"v1"', allow_loopback=True)
    assert (result.status, result.not_modified, result.body, result.etag) == (
        304,
        True,
        b"",
        '"v1"',
    )
    assert server.requests[-1]["If-None-Match"] == '"v1"'
    changed = fetch(server.url + "/cond.ics", etag='"v0"', allow_loopback=True)
    assert (changed.status, changed.not_modified, changed.body) == (200, False, CALENDAR)


def test_http_error_is_a_fetch_error(server):
    server.routes["/boom"] = lambda h: h.reply(500, b"oops")
    with pytest.raises(FetchError) as caught:
        fetch(server.url + "/boom", allow_loopback=True)
    assert caught.value.http_status == 500
    assert "500" in caught.value.message
    with pytest.raises(FetchError) as caught:
        fetch(server.url + "/missing", allow_loopback=True)
    assert caught.value.http_status == 404


def test_up_to_three_redirects_are_followed(server):
    for n in range(1, 4):
        server.routes[f"/hop{n}"] = lambda h, n=n: h.reply(302, Location=f"/hop{n - 1}")
    server.routes["/hop0"] = lambda h: h.reply(200, CALENDAR)
    result = fetch(server.url + "/hop3", allow_loopback=True)
    assert result.body == CALENDAR
    assert result.final_url == server.url + "/hop0"


def test_a_fourth_redirect_is_refused(server, connections):
    for n in range(0, 10):
        server.routes[f"/loop{n}"] = lambda h, n=n: h.reply(302, Location=f"/loop{n + 1}")
    with pytest.raises(FetchError):
        fetch(server.url + "/loop0", allow_loopback=True)
    assert len(connections) == 4  # the first request and three redirects
    with pytest.raises(FetchError):
        fetch(server.url + "/loop5", allow_loopback=True)


def test_body_is_capped(server, monkeypatch):
    monkeypatch.setattr(safe_fetch, "MAX_BYTES", 1000)
    server.routes["/big"] = lambda h: h.reply(200, b"x" * 1001)
    server.routes["/fits"] = lambda h: h.reply(200, b"x" * 1000)

    def unsized(h):  # no Content-Length: the cap must hold while streaming
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"x" * 5000)
        h.close_connection = True

    server.routes["/unsized"] = unsized
    with pytest.raises(FetchError) as caught:
        fetch(server.url + "/big", allow_loopback=True)
    assert "MB" in caught.value.message
    with pytest.raises(FetchError):
        fetch(server.url + "/unsized", allow_loopback=True)
    assert fetch(server.url + "/fits", allow_loopback=True).body == b"x" * 1000


def test_gzip_and_deflate_bodies_are_decompressed(server):
    server.routes["/gz"] = lambda h: h.reply(200, gzip.compress(CALENDAR), Content_Encoding="gzip")
    server.routes["/zlib"] = lambda h: h.reply(
        200, zlib.compress(CALENDAR), Content_Encoding="deflate"
    )
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    server.routes["/raw"] = lambda h: h.reply(
        200, raw.compress(CALENDAR) + raw.flush(), Content_Encoding="deflate"
    )
    for path in ("/gz", "/zlib", "/raw"):
        assert fetch(server.url + path, allow_loopback=True).body == CALENDAR


def test_compression_bomb_is_capped_after_decompression(server):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < safe_fetch.MAX_BYTES // 50
    server.routes["/bomb.ics"] = lambda h: h.reply(200, bomb, Content_Encoding="gzip")
    deflate_bomb = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    server.routes["/bomb2.ics"] = lambda h: h.reply(200, deflate_bomb, Content_Encoding="deflate")
    for path in ("/bomb.ics", "/bomb2.ics"):
        with pytest.raises(FetchError) as caught:
            fetch(server.url + path, allow_loopback=True)
        assert "5 MB" in caught.value.message


def test_unknown_content_encoding_is_refused(server):
    server.routes["/br"] = lambda h: h.reply(200, b"\x0b\x02\x80", Content_Encoding="br")
    with pytest.raises(FetchError):
        fetch(server.url + "/br", allow_loopback=True)


def test_slow_server_times_out(server, monkeypatch):
    monkeypatch.setattr(safe_fetch, "TOTAL_TIMEOUT", 0.5)

    def silent(h):
        server.stop.wait(5)

    def trickle(h):  # answers at once, then a byte at a time: per-read timeouts never fire
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(100):
            if server.stop.wait(0.05):
                return
            try:
                h.wfile.write(b"x")
                h.wfile.flush()
            except OSError:
                return

    server.routes["/silent"] = silent
    server.routes["/trickle"] = trickle
    for path in ("/silent", "/trickle"):
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(server.url + path, allow_loopback=True)
        assert time.monotonic() - started < 2.0, path
        assert "in time" in caught.value.message


def test_connect_timeout_constant_is_used(monkeypatch, connections):
    seen = []

    def fake_create(address, timeout=None, *args, **kwargs):
        seen.append(timeout)
        raise TimeoutError

    monkeypatch.setattr(safe_fetch, "CONNECT_TIMEOUT", 0.25)
    monkeypatch.setattr(socket, "create_connection", fake_create)
    with pytest.raises(FetchError):
        fetch("http://127.0.0.1:9/", allow_loopback=True)
    assert seen == [0.25]


def test_connection_refused_is_a_fetch_error(server):
    port = server.port
    server.close()
    with pytest.raises(FetchError) as caught:
        fetch(f"http://127.0.0.1:{port}/feed.ics", allow_loopback=True)
    assert "127.0.0.1" in caught.value.message


# -- TLS -----------------------------------------------------------------------------------------


def test_tls_verifies_the_certificate_for_the_url_host(server, dns, monkeypatch):
    context = safe_fetch._tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname

    seen = []

    class Recorder:
        def wrap_socket(self, sock, server_hostname=None):
            seen.append(server_hostname)
            return context.wrap_socket(sock, server_hostname=server_hostname)

    monkeypatch.setattr(safe_fetch, "_tls_context", lambda: Recorder())
    dns.names = {"secure.example": ["127.0.0.1"]}
    # The loopback server speaks plain HTTP, so the handshake fails: nothing is read.
    with pytest.raises(FetchError) as caught:
        fetch(f"https://secure.example:{server.port}/feed.ics", allow_loopback=True)
    assert seen == ["secure.example"]
    assert "secure.example" in caught.value.message or "answer" in caught.value.message


def test_messages_are_translatable_plain_words(app):
    with app.test_request_context("/?lang=sv"):
        for error in (
            UnsafeURL(safe_fetch._PRIVATE, host="10.0.0.1"),
            FetchError(safe_fetch._TIMEOUT),
            FetchError(safe_fetch._STATUS, status=503),
            safe_fetch._too_large(),
        ):
            assert error.message
            assert "%(" not in error.message
