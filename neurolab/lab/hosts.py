"""Which ``Host`` and ``Origin`` headers name the lab's server: its guard against DNS rebinding.

A page from another site can point a domain name of its own at 127.0.0.1 and then send
requests to the lab as if they were its own (DNS rebinding). Such requests carry the other
site's name in their ``Host`` header, so the lab answers only requests whose ``Host`` names
the address it is bound to, with its port; on a loopback address, ``localhost``,
``127.0.0.1`` and ``[::1]`` too.
"""

from __future__ import annotations

import ipaddress
import socket

EVERY_INTERFACE = ("0.0.0.0", "::")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        return False


class Hosts:
    """The ``Host`` values of a server bound to ``host`` and ``port``.

    Bound to every interface (0.0.0.0 or ::), the machine's own host names and any address
    literal with the port are accepted: rebinding needs a domain name, and the others' are
    refused.
    """

    def __init__(self, host: str, port: int) -> None:
        self.port = port
        self.every_interface = host in EVERY_INTERFACE
        names = {host.lower()}
        if is_loopback(host):
            names |= {"localhost", "127.0.0.1", "::1"}
        elif self.every_interface:
            names |= {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
        self.names = set()
        for name in names:
            shown = f"[{name}]" if ":" in name else name
            self.names.add(f"{shown}:{port}")
            if port == 80:  # a browser leaves out the default port
                self.names.add(shown)

    def allow(self, value: str) -> bool:
        """Whether a ``Host`` header (``name:port``) names this server."""
        value = value.lower()
        if value in self.names:
            return True
        if not self.every_interface:
            return False
        name, _, port = value.rpartition(":")
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False
        return port == str(self.port)

    def allow_origin(self, origin: str) -> bool:
        """Whether an ``Origin`` header (``http://name:port``) is this server's own page."""
        return origin.lower().startswith("http://") and self.allow(origin[len("http://"):])
