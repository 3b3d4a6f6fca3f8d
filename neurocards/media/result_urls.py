"""Where we let a video download go: a result URL comes from KIE's answer (or a
callback body), so it is checked before we connect — http(s) only, and never an
address inside our own network (loopback, private, link-local, reserved) unless
it is KIE's own host as configured (the sandbox on 127.0.0.1).  Every redirect
hop is checked the same way.  (A hostname is resolved once for the check; DNS
that changes its answer between the check and the connect is not covered.)
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ..errors import PipelineError

__all__ = ["check_result_url", "host_port"]


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _addresses(host: str) -> list[ipaddress._BaseAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise PipelineError("result_url_refused", f"result host {host!r} does not resolve") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _internal(address) -> bool:
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
            or address.is_multicast or address.is_unspecified)


def check_result_url(url: str, trusted: frozenset[tuple[str, int]] = frozenset()) -> None:
    """Raise :class:`PipelineError` (``result_url_refused``) unless ``url`` may be fetched."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PipelineError("result_url_refused", f"result URL scheme {parts.scheme!r} refused")
    if host_port(url) in trusted:
        return
    if any(_internal(address) for address in _addresses(parts.hostname)):
        raise PipelineError("result_url_refused", f"result URL points inside our network ({parts.hostname})")
