"""Ports for the stack's listeners: whether one is taken, and a free one
below the range the kernel hands outgoing connections."""

from __future__ import annotations

import random
import socket


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# Below Linux's ephemeral range (32768-60999): a port handed out here and bound a while later (a stack's
# eight services start one after another) cannot meanwhile become some client connection's local port.
LISTEN_PORTS = range(20000, 32000)
# Its own source of chance, not the `random` module's: a test runner that reseeds that before every test
# (pytest-randomly) would hand every test the same ports, and two stacks started by two tests would collide.
_CHANCE = random.SystemRandom()


def free_port() -> int:
    """A port nothing listens on now, outside the range outgoing connections take theirs from."""
    for port in _CHANCE.sample(LISTEN_PORTS, 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port below the ephemeral range")
