"""Fetching documents from http(s) URLs without becoming an SSRF proxy.

Every hop (redirects included) is resolved first and refused unless every address is globally
routable (and so is any IPv4 address carried inside an IPv6 one: mapped, 6to4, Teredo, NAT64),
unless the settings allow private targets. The connection then goes to the address that was
checked (the Host header and TLS SNI keep the name), so a DNS answer that changes between check
and connect cannot slip through. A URL that cannot be parsed is refused with a ``BlockedURL``,
and the whole fetch (resolving, connecting, headers, body, redirects) ends by
``fetch_timeout``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
import time
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from docintel.errors import BlockedURL, FetchError, InputTooLarge
from docintel.settings import Limits

MAX_REDIRECTS = 5

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not globally reachable, whatever this Python's ``is_global`` tables say (they change between
# releases): shared address space 100.64/10 (cloud metadata at 100.100.100.200), IETF protocol
# assignments, documentation, benchmarking, the 6to4 relay anycast, multicast, reserved,
# unique-local, link-local and site-local ranges.
_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
        "3fff::/20", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# host (a bracketed IPv6 literal or a name) and an optional port; "@" (user info) never matches
_AUTHORITY = re.compile(r"(?P<host>\[[^\]]*\]|[^\[\]@:]*)(?::(?P<port>[0-9]*))?")
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")


def _shown(url: str) -> str:
    """``url`` for a message: quoted, escaped, and cut short when long."""
    return repr(url if len(url) <= 200 else url[:200] + "...")


def _addresses(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = _getaddrinfo(host, port, timeout)
    except (OSError, UnicodeError, ValueError) as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}. Check the URL.") from exc
    addresses = [
        ipaddress.ip_address(str(info[4][0]).split("%")[0])
        for info in infos
        if info[0] in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise FetchError(f"host {host!r} has no IP address. Check the URL.")
    return addresses


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list[Any]:
    if timeout is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # getaddrinfo cannot be interrupted and a slow resolver retries for up to half a minute,
    # so it runs aside and the fetch stops waiting for it at the deadline.
    outcome: list[Any] = []

    def resolve() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=resolve, name="docintel-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise TimeoutError(f"no answer within {timeout:.3g} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is globally routable, and so is every IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on the wire
            return _is_public(ip.ipv4_mapped)
        # These reach an IPv4 host through a gateway: 2002:a9fe:a9fe:: is 169.254.169.254.
        inner: list[ipaddress.IPv4Address] = []
        if ip.sixtofour is not None:
            inner.append(ip.sixtofour)
        if ip.teredo is not None:
            inner.extend(ip.teredo)
        if ip in _NAT64 or ip in _V4_COMPATIBLE:
            inner.append(ipaddress.IPv4Address(ip.packed[-4:]))
        if not all(_is_public(v4) for v4 in inner):
            return False
        if ip.is_reserved and ip not in _NAT64:  # unallocated space; NAT64 is in ::/8 but used
            return False
    return ip.is_global and not ip.is_multicast and not any(ip in net for net in _BLOCKED)


def _malformed(url: str, why: str) -> BlockedURL:
    return BlockedURL(f"malformed URL {_shown(url)}: {why}. Check the URL.")


def _host(url: str, raw: str) -> str:
    """The URL's host as the ASCII name or address literal that is resolved and sent."""
    if raw.startswith("["):
        if "%" in raw:  # a zone id names a local interface: nothing a fetch should reach
            raise _malformed(url, f"{raw} carries an IPv6 zone id")
        try:
            return str(ipaddress.IPv6Address(raw[1:-1]))
        except ValueError:
            raise _malformed(url, f"{raw} is not an IPv6 address") from None
    try:  # non-ASCII names go out in their IDNA (punycode) form
        name = (raw if raw.isascii() else raw.encode("idna").decode("ascii")).lower()
    except (UnicodeError, ValueError) as exc:
        raise _malformed(url, f"host {raw!r} is not a valid domain name ({exc})") from None
    bare = name.removesuffix(".")  # one trailing dot is a fully qualified name
    if len(bare) > 253:
        raise _malformed(url, f"host name is {len(bare)} characters long (253 at most)")
    bad = next((label for label in bare.split(".") if not _LABEL.fullmatch(label)), None)
    if bad is not None:
        why = "an empty" if not bad else "a too long (63 at most)" if len(bad) > 63 else "a bad"
        raise _malformed(url, f"host {raw!r} has {why} label {bad[:63]!r}")
    return name


def check_url(url: str, limits: Limits, *, timeout: float | None = None) -> tuple[str, str]:
    """Validate ``url``; return it with the host replaced by a checked address, and the host.

    Raises ``BlockedURL`` for anything that is not a well-formed http(s) URL or that leads to
    a non-public address, and ``FetchError`` when the host does not resolve (within
    ``timeout`` seconds, when given).
    """
    if not isinstance(url, str):
        raise BlockedURL(f"a URL must be a str, not {type(url).__name__}.")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise _malformed(url, "it holds characters that are not text (lone surrogates)") from None
    control = _CONTROL.search(url)
    if control:
        raise _malformed(url, f"control character {control[0]!r} at position {control.start()}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _malformed(url, str(exc)) from None
    if parts.scheme not in ("http", "https"):
        raise BlockedURL(f"refusing URL scheme {parts.scheme!r} in {_shown(url)}: only http(s).")
    if "@" in parts.netloc:
        raise BlockedURL(
            f"refusing {_shown(url)}: user info (user@host) in URLs is not sent. "
            "Download the file yourself if it needs credentials."
        )
    authority = _AUTHORITY.fullmatch(parts.netloc)
    if authority is None:
        raise _malformed(url, f"cannot read a host and port from {parts.netloc!r}")
    if not authority["host"]:
        raise BlockedURL(f"URL {_shown(url)} has no host.")
    digits = authority["port"]
    port = (int(digits) if len(digits) <= 5 else 0) if digits else None  # no int("9" * 5000)
    if port is not None and not 0 < port < 65536:
        raise _malformed(url, f"port {digits[:12]} is out of range 1-65535")
    host = _host(url, authority["host"])
    addresses = _addresses(host, port or (443 if parts.scheme == "https" else 80), timeout)
    if not limits.allow_private_urls:
        bad = [str(ip) for ip in addresses if not _is_public(ip)]
        if bad:
            raise BlockedURL(
                f"refusing to fetch {_shown(url)}: {host} resolves to non-public address "
                f"{bad[0]}. Download the file yourself, or set allow_private_urls=True "
                "(DOCINTEL_ALLOW_PRIVATE_URLS=1) if this target is trusted."
            )
    ip = addresses[0]
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    pinned = urlunsplit(parts._replace(netloc=f"{literal}:{port}" if port else literal))
    try:
        httpx.URL(pinned)  # what httpx would refuse later (an over-long URL, ...) is refused now
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _malformed(url, str(exc)) from None
    return pinned, host


class _Watchdog:
    """Shuts the fetch's connections down at the deadline.

    httpx timeouts bound each read, so a server trickling a byte at a time could hold a fetch
    for as long as it likes; shutting the socket down wakes the blocked read at once. The
    watchdog keeps its own duplicate of each socket, so it never touches a descriptor that
    httpx has closed and the system has handed to someone else.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._at

    def remaining(self) -> float:
        """Seconds left; 0 once the deadline has passed."""
        return max(0.0, self._at - time.monotonic())

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension: watch each new connection's socket."""
        if event != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket")
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if self._done:
                return
            try:
                watched = sock.dup()
            except OSError:  # out of descriptors: no fetch without a deadline
                _shutdown(sock)
                return
            self._sockets.append(watched)
            if self.expired:
                _shutdown(watched)

    def _expire(self) -> None:
        with self._lock:
            if not self._done:
                for sock in self._sockets:
                    _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer or by httpx
        sock.shutdown(socket.SHUT_RDWR)


def fetch(url: str, limits: Limits) -> tuple[bytes, str]:
    """GET ``url`` within the size and time limits; return the body and the final URL."""
    with (
        httpx.Client(follow_redirects=False, trust_env=False) as client,  # no env proxies
        _Watchdog(limits.fetch_timeout) as watchdog,
    ):
        for _ in range(MAX_REDIRECTS + 1):
            body, url = _get(client, url, limits, watchdog)
            if body is not None:
                return body, url
    raise FetchError(f"GET {_shown(url)}: more than {MAX_REDIRECTS} redirects.")


def _get(
    client: httpx.Client, url: str, limits: Limits, watchdog: _Watchdog
) -> tuple[bytes | None, str]:
    """One hop: the body and ``url``, or None and the URL it redirects to."""
    try:
        pinned, host = check_url(url, limits, timeout=_left(url, watchdog))
    except FetchError as exc:
        if isinstance(exc.__cause__, TimeoutError):  # the resolver outlived the deadline
            raise _timed_out(url, watchdog.seconds) from exc
        raise
    port = urlsplit(pinned).port
    literal = f"[{host}]" if ":" in host else host
    headers = {"Host": f"{literal}:{port}" if port else literal, "User-Agent": "docintel"}
    extensions: dict[str, Any] = {"trace": watchdog.trace}
    if pinned.startswith("https:"):
        extensions["sni_hostname"] = host
    timeout = httpx.Timeout(_left(url, watchdog))
    try:
        with client.stream(
            "GET", pinned, headers=headers, timeout=timeout, extensions=extensions
        ) as resp:
            if resp.is_redirect:
                try:
                    return None, urljoin(url, resp.headers["location"])
                except ValueError as exc:
                    raise FetchError(
                        f"GET {_shown(url)} redirected to an unreadable location: {exc}"
                    ) from exc
            if resp.status_code >= 400:
                raise FetchError(
                    f"GET {_shown(url)} answered HTTP {resp.status_code}. Check the URL and access."
                )
            try:
                declared = int(resp.headers.get("content-length") or 0)
            except ValueError:
                declared = 0  # h11 checks the framing; the running count below still applies
            if declared > limits.fetch_max_bytes:
                raise _too_large(url, limits, declared)
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > limits.fetch_max_bytes:
                    raise _too_large(url, limits, len(body))
                if watchdog.expired:
                    raise _timed_out(url, watchdog.seconds)
            if watchdog.expired:  # a body read until close ends quietly when cut short
                raise _timed_out(url, watchdog.seconds)
            return bytes(body), url
    except httpx.HTTPError as exc:
        # a read the watchdog cut short surfaces as a closed connection: report the deadline
        if isinstance(exc, httpx.TimeoutException) or watchdog.expired:
            raise _timed_out(url, watchdog.seconds) from exc
        raise FetchError(f"GET {_shown(url)} failed: {exc}") from exc
    except httpx.InvalidURL as exc:
        raise BlockedURL(f"refusing {_shown(url)}: {exc}. Check the URL.") from exc


def _left(url: str, watchdog: _Watchdog) -> float:
    """Seconds left for the next step, or the timeout error when none are."""
    left = watchdog.remaining()
    if left <= 0:
        raise _timed_out(url, watchdog.seconds)
    return left


def _timed_out(url: str, seconds: float) -> FetchError:
    return FetchError(
        f"GET {_shown(url)} timed out: the whole fetch (connecting, headers, body and "
        f"redirects) may take fetch_timeout={seconds:g} s. Raise fetch_timeout "
        "(DOCINTEL_FETCH_TIMEOUT) or download the file yourself."
    )


def _too_large(url: str, limits: Limits, size: int) -> InputTooLarge:
    return InputTooLarge(
        f"{url} is larger than fetch_max_bytes={limits.fetch_max_bytes} bytes. "
        "Raise DOCINTEL_FETCH_MAX_BYTES or download the file yourself.",
        limit=limits.fetch_max_bytes,
        actual=size,
    )
