"""The one way to fetch a URL a user gave us (DESIGN §8).

A host types a calendar link; we fetch it from inside our network. Without care that is a
server-side request forgery: `http://169.254.169.254/` reads the cloud metadata service,
`http://10.0.0.1/` reaches internal services. So: http/https only, no userinfo, the host is
resolved once and every address it resolves to must be globally routable (after unwrapping
IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms), and we connect to that pinned address, so a
second DNS answer (DNS rebinding) cannot redirect us. Redirects are followed by hand, at most
MAX_REDIRECTS, each one checked the same way. Time and size are bounded.

Only the standard library is used (http.client, socket, ssl, zlib).
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from rentalcoop import __version__
from rentalcoop.errors import DomainError
from rentalcoop.i18n import _l

# Module constants so tests and benchmarks can shorten them.
CONNECT_TIMEOUT = 5.0  # seconds to open the TCP (and TLS) connection
TOTAL_TIMEOUT = 20.0  # seconds for the whole fetch, redirects included
MAX_BYTES = 5 * 1024 * 1024  # body cap, counted after decompression
MAX_REDIRECTS = 3
INFO_URL = "https://rentalcoop.example/calendar-sync"
USER_AGENT = f"rentalcoop-calendar-sync/{__version__} (+{INFO_URL})"
ACCEPT = "text/calendar, text/plain;q=0.9, */*;q=0.5"
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}

# Ranges that are never fetched, whatever ipaddress's is_global says on this Python version
# (its tables were incomplete before the CVE-2024-4032 fix, and 100.64/10 is neither private
# nor global there).
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",
        "::1/128",
        "::/96",  # IPv4-compatible (unwrapped before this table is consulted)
        "::ffff:0:0/96",  # IPv4-mapped (idem)
        "64:ff9b::/96",  # NAT64 (idem)
        "64:ff9b:1::/48",  # local-use NAT64, RFC 8215
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",
        "2002::/16",  # 6to4 (unwrapped before)
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.ip_address("::1")
# Names that only mean something inside a network (Nextcloud's HostnameClassifier).
_LOCAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".intranet",
    ".private",
    ".corp",
    ".home",
    ".lan",
    ".home.arpa",
)


class UnsafeURL(DomainError):
    """The URL may not be fetched; raised before any connection to it."""

    status_code = 422


class FetchError(DomainError):
    """The URL was allowed but fetching it failed (timeout, HTTP error, too large)."""

    status_code = 502

    def __init__(self, message, *, http_status: int | None = None, **params):
        super().__init__(message, **params)
        self.http_status = http_status


_NOT_A_URL = _l("This is not a complete web address. Copy the whole link and try again.")
_BAD_SCHEME = _l("Only links that start with https://, http:// or webcal:// can be used.")
_USERINFO = _l("Links with a user name or password in them cannot be used.")
_PRIVATE = _l(
    "The link points to %(host)s, a private or local network address, which calendar links "
    "may not use."
)
_NOT_FOUND = _l("The server %(host)s could not be found. Check the link for typing mistakes.")
_CONNECT = _l("Could not connect to %(host)s. We will try again later.")
_TIMEOUT = _l("The other calendar did not answer in time. We will try again later.")
_TLS = _l("The secure connection to %(host)s could not be verified, so nothing was read from it.")
_STATUS = _l(
    "The other calendar answered with error %(status)s. If this keeps happening, copy the "
    "export link again from the other platform."
)
_TOO_LARGE = _l("The calendar is larger than %(limit)s MB, more than we accept.")
_TOO_MANY_REDIRECTS = _l("The link forwards to other addresses too many times.")
_BAD_RESPONSE = _l("The other calendar sent a reply we could not read. We will try again later.")


@dataclass(frozen=True)
class FetchResult:
    status: int  # 200, or 304 when not_modified
    body: bytes  # decompressed; empty on 304
    etag: str | None
    final_url: str  # after redirects
    not_modified: bool = False


@dataclass(frozen=True)
class PinnedTarget:
    """A checked URL and the one address we will connect to for it."""

    url: str
    scheme: str
    host: str  # as for the Host header and TLS server name (IDNA, no brackets, no dot)
    port: int
    path: str
    address: str  # the pinned IP


def fetch(url: str, *, etag: str | None = None, allow_loopback: bool = False) -> FetchResult:
    """GET a user-supplied URL under the SSRF rules of DESIGN §8 (conditional on `etag`)."""
    deadline = time.monotonic() + TOTAL_TIMEOUT
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        target = check_url(current, allow_loopback=allow_loopback)
        result, location = _get(target, etag, deadline)
        if location is None:
            return result
        current = urljoin(target.url, location)
    raise FetchError(_TOO_MANY_REDIRECTS)


def check_url(url: str, *, allow_loopback: bool = False) -> PinnedTarget:
    """Validate a URL and pin the address to connect to, or raise UnsafeURL (no connection)."""
    if not isinstance(url, str) or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url.strip()):
        raise UnsafeURL(_NOT_A_URL)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as err:
        raise UnsafeURL(_NOT_A_URL) from err
    scheme = parts.scheme.lower()
    if scheme == "webcal":  # Apple's name for "subscribe to this https calendar"
        scheme = "https"
    if scheme not in ("http", "https"):
        raise UnsafeURL(_BAD_SCHEME)
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeURL(_USERINFO)
    host = _clean_host(parts.hostname)
    port = port or (443 if scheme == "https" else 80)
    address = _pin_address(host, port, allow_loopback)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    display = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    netloc = display if port == default else f"{display}:{port}"
    return PinnedTarget(f"{scheme}://{netloc}{path}", scheme, host, port, path, address)


def _clean_host(hostname: str | None) -> str:
    if not hostname:
        raise UnsafeURL(_NOT_A_URL)
    host = hostname.rstrip(".").lower()
    if "%" in host:  # an IPv6 zone id: only meaningful on a local link
        raise UnsafeURL(_PRIVATE, host=host)
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as err:
            raise UnsafeURL(_NOT_A_URL) from err
    if not host:
        raise UnsafeURL(_NOT_A_URL)
    return host


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP written in the URL, including the legacy IPv4 forms a resolver would accept
    (`2130706433`, `0x7f.1`, `017700000001`, `127.1`)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _pin_address(host: str, port: int, allow_loopback: bool) -> str:
    literal = _literal_address(host)
    if literal is not None:
        if is_refused_address(literal, allow_loopback=allow_loopback):
            raise UnsafeURL(_PRIVATE, host=host)
        return str(literal)
    is_localhost = host == "localhost" or host.endswith(".localhost")
    if is_localhost and not allow_loopback:
        raise UnsafeURL(_PRIVATE, host=host)
    if not is_localhost and ("." not in host or host.endswith(_LOCAL_SUFFIXES)):
        raise UnsafeURL(_PRIVATE, host=host)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as err:
        raise FetchError(_NOT_FOUND, host=host) from err
    addresses = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        try:
            addresses.append(ipaddress.ip_address(sockaddr[0].split("%")[0]))
        except ValueError:
            continue
    if not addresses:
        raise FetchError(_NOT_FOUND, host=host)
    # Every answer must be acceptable: a name that also resolves to an internal address is
    # refused rather than gambling on which one we would get.
    if any(is_refused_address(a, allow_loopback=allow_loopback) for a in addresses):
        raise UnsafeURL(_PRIVATE, host=host)
    return str(addresses[0])


def is_refused_address(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool = False
) -> bool:
    """True unless the address is globally routable (loopback only when explicitly allowed)."""
    if allow_loopback and (
        (address.version == 4 and address in _LOOPBACK_V4) or address == _LOOPBACK_V6
    ):
        return False
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_refused_address(embedded)  # loopback is never allowed in a wrapped form
    return (
        any(address in net for net in _REFUSED_NETWORKS if net.version == address.version)
        or not address.is_global
        or address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def _embedded_ipv4(address) -> ipaddress.IPv4Address | None:
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _V4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


# -- the request -----------------------------------------------------------------------------


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP to a pinned address; Host header and TLS name stay the URL's host."""

    def __init__(self, target: PinnedTarget, connect_timeout: float):
        super().__init__(target.host, target.port, timeout=connect_timeout)
        self._address = target.address
        self._tls = target.scheme == "https"
        self.default_port = 443 if self._tls else 80
        # http.client drops self.sock once a "Connection: close" response starts; keep our own
        # handle for timeouts, the watchdog and the final close.
        self.pinned_sock: socket.socket | None = None

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls:
                sock = _tls_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = self.pinned_sock = sock


@functools.cache
def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()  # verifies the certificate and the host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(_TIMEOUT)
    return left


def _get(target: PinnedTarget, etag: str | None, deadline: float):
    """One request. Returns (result, None) or (None, location) for a redirect."""
    conn = _PinnedConnection(target, min(CONNECT_TIMEOUT, _remaining(deadline)))
    # A watchdog closes the socket at the deadline, so a server trickling bytes cannot hold
    # the fetch longer than TOTAL_TIMEOUT (per-read timeouts alone would not bound it).
    expired = threading.Event()

    def abort():
        expired.set()
        sock = conn.pinned_sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(_remaining(deadline), abort)
    watchdog.daemon = True
    watchdog.start()
    response = None
    try:
        try:
            conn.connect()
        except ssl.SSLError as err:
            raise FetchError(_TLS, host=target.host) from err
        except TimeoutError as err:
            raise FetchError(_TIMEOUT) from err
        except OSError as err:
            raise FetchError(_CONNECT, host=target.host) from err
        try:
            conn.pinned_sock.settimeout(_remaining(deadline))
            conn.putrequest("GET", target.path, skip_accept_encoding=True)
            conn.putheader("User-Agent", USER_AGENT)
            conn.putheader("Accept", ACCEPT)
            conn.putheader("Accept-Encoding", "gzip, deflate")
            conn.putheader("Connection", "close")
            if etag:
                conn.putheader("If-None-Match", etag)
            conn.endheaders()
            response = conn.getresponse()
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise FetchError(_BAD_RESPONSE)
                return None, location.strip()
            if response.status == 304:
                return (
                    FetchResult(
                        304,
                        b"",
                        response.getheader("ETag") or etag,
                        target.url,
                        not_modified=True,
                    ),
                    None,
                )
            if response.status != 200:
                raise FetchError(_STATUS, http_status=response.status, status=response.status)
            body = _read_body(conn, response, deadline)
            if expired.is_set():  # the watchdog's shutdown reads as an early end of the body
                raise FetchError(_TIMEOUT)
            return (
                FetchResult(200, body, response.getheader("ETag"), target.url),
                None,
            )
        except FetchError:
            if expired.is_set():
                raise FetchError(_TIMEOUT) from None
            raise
        except (TimeoutError, OSError, http.client.HTTPException) as err:
            if expired.is_set() or isinstance(err, TimeoutError):
                raise FetchError(_TIMEOUT) from err
            raise FetchError(_BAD_RESPONSE) from err
    finally:
        watchdog.cancel()
        if response is not None:
            response.close()
        conn.close()
        if conn.pinned_sock is not None:
            conn.pinned_sock.close()


def _too_large() -> FetchError:
    return FetchError(_TOO_LARGE, limit=MAX_BYTES // (1024 * 1024))


def _read_body(conn, response, deadline: float) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > MAX_BYTES:
        raise _too_large()
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = _DeflateDecoder()
    elif encoding == "identity":
        decoder = None
    else:
        raise FetchError(_BAD_RESPONSE)
    raw_total = 0
    out = bytearray()
    while True:
        conn.pinned_sock.settimeout(_remaining(deadline))
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        raw_total += len(chunk)
        if raw_total > MAX_BYTES:
            raise _too_large()
        if decoder is None:
            out += chunk
        else:
            try:
                out += decoder.decompress(chunk, MAX_BYTES + 1 - len(out))
            except zlib.error as err:
                raise FetchError(_BAD_RESPONSE) from err
            if decoder.unconsumed_tail:  # output stopped at the cap with input left
                raise _too_large()
        if len(out) > MAX_BYTES:
            raise _too_large()
    if response.length:  # the connection ended before Content-Length bytes arrived
        raise FetchError(_BAD_RESPONSE)
    if decoder is not None:
        try:
            out += decoder.flush()
        except zlib.error as err:
            raise FetchError(_BAD_RESPONSE) from err
        if len(out) > MAX_BYTES:
            raise _too_large()
    return bytes(out)


class _DeflateDecoder:
    """HTTP "deflate" is zlib-wrapped by the standard, raw deflate by some servers."""

    def __init__(self):
        self._decoder = zlib.decompressobj()
        self._started = False

    @property
    def unconsumed_tail(self) -> bytes:
        return self._decoder.unconsumed_tail

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if not self._started:
            self._started = True
            try:
                return self._decoder.decompress(data, max_length)
            except zlib.error:
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._decoder.decompress(data, max_length)

    def flush(self) -> bytes:
        return self._decoder.flush()


__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_BYTES",
    "MAX_REDIRECTS",
    "TOTAL_TIMEOUT",
    "FetchError",
    "FetchResult",
    "PinnedTarget",
    "UnsafeURL",
    "check_url",
    "fetch",
    "is_refused_address",
]
