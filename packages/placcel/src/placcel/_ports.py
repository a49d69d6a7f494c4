"""Finding a free TCP port for the process group's store."""

from __future__ import annotations

import socket

__all__ = ["find_free_port"]


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that nothing listens on right now.

    Another process could take it before we bind it; that window is short enough in practice.

    Args:
        host: the interface to probe.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
