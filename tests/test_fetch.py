"""URL fetching: which addresses are refused, malformed URLs, and the total fetch deadline.

The deadline tests run real trickling servers on 127.0.0.1 (hence allow_private_urls=True);
address classification resolves test names to chosen addresses through a patched
``socket.getaddrinfo``, as those ranges are not routable here.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import time

import pytest
from conftest import send_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

import docintel
from docintel.errors import BlockedURL, DocintelError, FetchError
from docintel.ingest import fetch as fetch_module
from docintel.ingest.fetch import check_url, fetch
from docintel.settings import Limits

PUBLIC = Limits(allow_private_urls=False)
TRUSTING = Limits(allow_private_urls=True)


def resolve_to(address: str):
    """A ``getaddrinfo`` that answers ``address`` for every name."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def getaddrinfo(host, port, *args, **kwargs):
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    return getaddrinfo


def unresolvable(host, port, *args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


# ---- which addresses are refused ----


@pytest.mark.parametrize(
    "address",
    [
        "100.100.100.200",  # cloud metadata in shared address space (100.64.0.0/10)
        "100.64.0.1",
        "192.0.0.8",  # IETF protocol assignments (192.0.0.0/24)
        "192.0.0.170",
        "169.254.169.254",
        "127.0.0.1",
        "10.1.2.3",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "239.255.255.250",
        "198.18.0.1",
        "192.88.99.1",  # 6to4 relay anycast
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fec0::1",  # site-local
        "ff02::1",
        "2001:db8::1",
        "3fff::1",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
        "::127.0.0.1",  # IPv4-compatible
        "::8.8.8.8",  # IPv4-compatible, deprecated even when the IPv4 address is public
        "2002:a9fe:a9fe::",  # 6to4 around 169.254.169.254
        "2002:c0a8:101::1",  # 6to4 around 192.168.1.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
        "64:ff9b:1::808:808",  # local-use NAT64 prefix
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_non_global_addresses_are_refused(monkeypatch, address: str) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolve_to(address))
    with pytest.raises(BlockedURL, match="non-public address"):
        check_url("https://innocent.example.com/invoice.pdf", PUBLIC)
    # trusted settings let the same name through, pinned to the checked address
    pinned, host = check_url("https://innocent.example.com/invoice.pdf", TRUSTING)
    ip = ipaddress.ip_address(address)
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    assert (pinned, host) == (f"https://{literal}/invoice.pdf", "innocent.example.com")


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"]
)
def test_global_addresses_are_pinned(monkeypatch, address: str) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolve_to(address))
    pinned, host = check_url("https://files.example.com:8443/a.pdf?x=1", PUBLIC)
    literal = f"[{address}]" if ":" in address else address
    assert pinned == f"https://{literal}:8443/a.pdf?x=1"
    assert host == "files.example.com"


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/x.pdf",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://[2002:a9fe:a9fe::]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0x7f.1/x.pdf",
        "http://１２７.0.0.1/x.pdf",  # fullwidth digits: IDNA maps them to 127.0.0.1
    ],
)
def test_private_address_literals_are_refused(url: str) -> None:
    with pytest.raises(BlockedURL, match="non-public address"):
        check_url(url, PUBLIC)


def test_every_redirect_hop_is_checked(http_server, monkeypatch) -> None:
    """The first hop passes the check (127.0.0.1 counts as public here); the second does not."""

    def to(location: str):
        def handler(req: http.server.BaseHTTPRequestHandler) -> None:
            req.send_response(302)
            req.send_header("Location", location)
            req.send_header("Content-Length", "0")
            req.end_headers()

        return handler

    base = http_server(
        {
            "/metadata": to("http://169.254.169.254/latest/meta-data/"),
            "/nat64": to("http://[64:ff9b::a9fe:a9fe]/"),
            "/broken": to("http://[::1/"),
            "/badhost": to("http://a..b/x.pdf"),
        }
    )
    monkeypatch.setattr(fetch_module, "_is_public", lambda ip: str(ip) == "127.0.0.1")
    for path in ("/metadata", "/nat64"):
        with pytest.raises(BlockedURL, match="non-public address"):
            fetch(f"{base}{path}", PUBLIC)
    with pytest.raises(BlockedURL, match="empty label"):
        fetch(f"{base}/badhost", PUBLIC)
    with pytest.raises(FetchError, match="location"):  # httpx itself rejects this one
        fetch(f"{base}/broken", PUBLIC)


# ---- malformed URLs ----


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.com:99999/", "port 99999 is out of range"),
        ("http://example.com:0/", "port 0 is out of range"),
        ("http://example.com:" + "9" * 5000 + "/", "port 999999999999 is out of range"),
        ("http://example.com:8٣/", "cannot read a host and port"),  # a non-ASCII digit
        ("http://[::1/", "Invalid IPv6 URL"),
        ("http://[zz]/", "malformed URL"),
        ("http://[v1.x]/", "not an IPv6 address"),
        ("http://[fe80::1%25eth0]/", "zone id"),
        ("http://[127.0.0.1]/", "malformed URL"),
        ("http://" + "a" * 64 + ".com/", "too long"),
        ("http://a..b/", "empty label"),
        ("http://.example.com/", "empty label"),
        ("http://" + "a." * 127 + "com/", "253 at most"),
        ("http://\udcff.com/", "lone surrogates"),
        ("http://exa\udcffmple.com/x.pdf", "lone surrogates"),
        ("http://example.com\x00.evil/", "control character"),
        ("http://example.com/\r\nHost: evil", "control character"),
        ("http://exa\tmple.com/", "control character"),
        ("http://ex ample.com/", "bad label"),
        ("http://ex%41mple.com/", "bad label"),
        ("http://example.com\\.evil.net/", "bad label"),
        ("http://user:pass@example.com/", "user info"),
        ("http://example.com@127.0.0.1/", "user info"),
        ("http://127.0.0.1\\@example.com/", "user info"),
        ("http://example.com:80@evil.net/", "user info"),
        ("http://", "no host"),
        ("http:///x.pdf", "no host"),
        ("http://:80/", "no host"),
        ("http://xn--a.\u0080/", "control character"),
        ("http://\u2488.com/", "malformed URL"),  # NFKC turns it into "1." + ".com"
        ("http://example.com/" + "a" * 70_000, "URL too long"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
    ],
)
def test_malformed_urls_raise_blocked_url(monkeypatch, url: str, why: str) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolve_to("8.8.8.8"))
    for limits in (PUBLIC, TRUSTING):
        with pytest.raises(BlockedURL, match=why):
            check_url(url, limits)


def test_malformed_url_through_load_is_typed() -> None:
    with pytest.raises(BlockedURL, match="port 99999"):
        docintel.load("http://example.com:99999/x.pdf", allow_private_urls=True)
    with pytest.raises(BlockedURL, match="lone surrogates"):
        docintel.load("http://\udcff.com/x.pdf")


def test_idna_host_is_resolved_and_sent_in_ascii(monkeypatch) -> None:
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert check_url("https://Bücher.Example/x", PUBLIC) == (
        "https://8.8.8.8/x",
        "xn--bcher-kva.example",
    )
    assert asked == ["xn--bcher-kva.example"]


def test_unresolvable_host_is_a_fetch_error(monkeypatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    with pytest.raises(FetchError, match=r"cannot resolve host 'nowhere\.example'"):
        check_url("http://nowhere.example/x.pdf", PUBLIC)


URL_PIECES = st.sampled_from(
    [
        "http://", "https://", "HTTP://", "[", "]", "::1", "::ffff:", "%25", "%", ":", ":80",
        ":99999", ":-1", ":0x50", "@", "user:pw@", ".", "..", "/", "\\", "?", "#", "xn--",
        "xn--bcher-kva", "bücher", "127.0.0.1", "0x7f", "2130706433", "a" * 63, "a" * 64,
        "example.com", "\u3002", "\uff0e", "\u2488", "\x00", "\t", "\udcff", "\u0130", "ß",
    ]
)  # fmt: skip
URLISH = st.lists(st.one_of(URL_PIECES, st.text(max_size=6)), max_size=12).map("".join)
HTTPISH = st.tuples(st.sampled_from(["http://", "https://"]), URLISH).map("".join)


@pytest.mark.parametrize("resolver", [unresolvable, resolve_to("8.8.8.8"), resolve_to("::1")])
@settings(max_examples=300, deadline=None)
@given(url=st.one_of(st.text(), URLISH, HTTPISH))
def test_check_url_is_total(resolver, url: str) -> None:
    """Any string: a pinned URL back, or a DocintelError; nothing else, and no network."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", resolver)
        try:
            pinned, _ = check_url(url, PUBLIC)
        except DocintelError:
            return
    assert pinned.startswith(("http://", "https://"))


# ---- the fetch deadline ----


def trickle(head: bytes, body: bytes = b"", every: float = 0.5):
    """A handler that sends ``head`` at once and then ``body`` one byte every ``every`` s;
    with an empty ``body``, it trickles ``head`` itself."""

    def handler(req: http.server.BaseHTTPRequestHandler) -> None:
        try:
            if body:
                req.wfile.write(head)
            for i in range(len(body or head)):
                req.wfile.write((body or head)[i : i + 1])
                time.sleep(every)
        except OSError:
            pass  # the client gave up: that is the point

    return handler


# 80 bytes of headers at 2 bytes/s: 40 s, far past the 2 s allowed (each read is quick)
SLOW_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nX-Pad: " + b"p" * 20 + b"\r\n"


def timed_fetch(url: str, timeout: float) -> tuple[Exception, float]:
    start = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(url, Limits(allow_private_urls=True, fetch_timeout=timeout))
    return caught.value, time.monotonic() - start


@pytest.mark.parametrize(
    "handler",
    [
        trickle(SLOW_HEAD + b"Content-Length: 2\r\n\r\nok"),  # the status line and headers
        trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b"x" * 100),  # the body
        trickle(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"x" * 100),  # ends at close
        trickle(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n" * 20),
    ],
    ids=["headers", "body", "body-until-close", "chunked"],
)
def test_trickling_server_cannot_outlast_fetch_timeout(http_server, handler) -> None:
    base = http_server({"/slow": handler})
    error, elapsed = timed_fetch(f"{base}/slow", timeout=2)
    assert "timed out" in str(error) and "fetch_timeout=2 s" in str(error)
    assert elapsed < 3, f"fetch took {elapsed:.1f} s with fetch_timeout=2"
    assert type(error) is FetchError


def test_redirects_share_the_deadline(http_server) -> None:
    """Each hop answers within the per-read timeout; together they take too long."""

    def hop(n: int):
        def handler(req: http.server.BaseHTTPRequestHandler) -> None:
            time.sleep(0.6)
            req.send_response(302)
            req.send_header("Location", f"/hop{n + 1}")
            req.send_header("Content-Length", "0")
            req.end_headers()

        return handler

    base = http_server({f"/hop{n}": hop(n) for n in range(5)})
    error, elapsed = timed_fetch(f"{base}/hop0", timeout=1.5)
    assert "timed out" in str(error)
    assert elapsed < 2.5


def test_slow_resolver_counts_against_the_deadline(monkeypatch) -> None:
    def slow(*args, **kwargs):
        time.sleep(3)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    error, elapsed = timed_fetch("http://slow-dns.example/x.pdf", timeout=1)
    assert "timed out" in str(error)
    assert elapsed < 2


def test_fetch_within_the_deadline_returns_the_body(http_server) -> None:
    redirect_target = send_bytes(b"%PDF-1.4 body")

    def redirect(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(301)
        req.send_header("Location", "/final.pdf")
        req.send_header("Content-Length", "0")
        req.end_headers()

    base = http_server({"/start": redirect, "/final.pdf": redirect_target})
    body, final = fetch(f"{base}/start", Limits(allow_private_urls=True, fetch_timeout=5))
    assert body == b"%PDF-1.4 body"
    assert final == f"{base}/final.pdf"


def test_proxy_settings_in_the_environment_are_not_used(http_server, monkeypatch) -> None:
    """A proxy would resolve the host itself, after our address check: fetches go direct."""

    def pdf(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "application/pdf")
        req.send_header("Content-Length", "9")
        req.end_headers()
        req.wfile.write(b"%PDF-1.7\n")

    base = http_server({"/a.pdf": pdf})
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    body, _ = fetch(f"{base}/a.pdf", TRUSTING)
    assert body == b"%PDF-1.7\n"
