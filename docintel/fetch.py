"""Fetching documents from http(s) URLs without becoming an SSRF proxy.

Every hop (redirects included) is resolved first and refused when any address is private,
loopback, link-local, multicast, reserved or unspecified, unless the settings allow private
targets. The connection then goes to the address that was checked (the Host header and TLS SNI
keep the name), so a DNS answer that changes between check and connect cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from .errors import BlockedURL, FetchError, InputTooLarge
from .settings import Limits

MAX_REDIRECTS = 5


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}. Check the URL.") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_url(url: str, limits: Limits) -> tuple[str, str]:
    """Validate ``url``; return it with the host replaced by a checked address, and the host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedURL(f"refusing URL scheme {parts.scheme!r} in {url!r}: only http(s) loads.")
    host = parts.hostname
    if not host:
        raise BlockedURL(f"URL {url!r} has no host.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _addresses(host, port)
    if not limits.allow_private_urls:
        bad = [str(ip) for ip in addresses if not _is_public(ip)]
        if bad:
            raise BlockedURL(
                f"refusing to fetch {url!r}: {host} resolves to non-public address {bad[0]}. "
                "Download the file yourself, or set allow_private_urls=True "
                "(DOCINTEL_ALLOW_PRIVATE_URLS=1) if this target is trusted."
            )
    ip = addresses[0]
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return urlunsplit(parts._replace(netloc=netloc)), host


def fetch(url: str, limits: Limits) -> tuple[bytes, str]:
    """GET ``url`` within the size and time limits; return the body and the final URL."""
    deadline = time.monotonic() + limits.fetch_timeout
    with httpx.Client(timeout=limits.fetch_timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            pinned, host = check_url(url, limits)
            parts = urlsplit(url)
            headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "docintel"}
            extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
            try:
                with client.stream("GET", pinned, headers=headers, extensions=extensions) as resp:
                    if resp.is_redirect:
                        url = urljoin(url, resp.headers.get("location", ""))
                        continue
                    if resp.status_code >= 400:
                        raise FetchError(
                            f"GET {url} answered HTTP {resp.status_code}. Check the URL and access."
                        )
                    declared = int(resp.headers.get("content-length") or 0)
                    if declared > limits.fetch_max_bytes:
                        raise _too_large(url, limits, declared)
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > limits.fetch_max_bytes:
                            raise _too_large(url, limits, len(body))
                        if time.monotonic() > deadline:
                            raise FetchError(
                                f"GET {url} took longer than {limits.fetch_timeout:g} s. "
                                "Raise fetch_timeout or download the file yourself."
                            )
                    return bytes(body), url
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"GET {url} timed out after {limits.fetch_timeout:g} s. Raise fetch_timeout "
                    "(DOCINTEL_FETCH_TIMEOUT) or download the file yourself."
                ) from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"GET {url} failed: {exc}") from exc
    raise FetchError(f"GET {url}: more than {MAX_REDIRECTS} redirects.")


def _too_large(url: str, limits: Limits, size: int) -> InputTooLarge:
    return InputTooLarge(
        f"{url} is larger than fetch_max_bytes={limits.fetch_max_bytes} bytes. "
        "Raise DOCINTEL_FETCH_MAX_BYTES or download the file yourself.",
        limit=limits.fetch_max_bytes,
        actual=size,
    )
