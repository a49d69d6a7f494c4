"""The rendezvous: the TCP store every rank meets at before the process group forms.

Rank 0 hosts a ``torch.distributed.TCPStore`` at the main address and port; every other rank
connects to it. Two things differ from ``init_method="env://"``:

* Where the store listens. torch's store listens on every interface. When the main address is
  one of this machine's own (``127.0.0.1``, ``localhost``, an address of one of its interfaces),
  rank 0 binds the store to that address only, so a single-machine job is not reachable from the
  network. Any other address (rank 0 told to meet at a name or address that is not its own, e.g.
  behind NAT) keeps torch's behaviour.
* How long it waits. Meeting has its own timeout (:func:`rendezvous_timeout`, default 5 minutes,
  ``PLKIT_RENDEZVOUS_TIMEOUT`` seconds or ``DDPStrategy(rendezvous_timeout=...)``), separate
  from the collectives' timeout, and a rank prints where it waits while it waits. When it runs
  out, :class:`~placcel.exceptions.RendezvousError` names the address, the port and the
  variables to check.

Resolving the main address and test-binding it send no traffic anywhere.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
import time
from datetime import timedelta

import torch.distributed as dist

from placcel.exceptions import RendezvousError

__all__ = [
    "DEFAULT_RENDEZVOUS_TIMEOUT",
    "RENDEZVOUS_TIMEOUT_VARIABLE",
    "create_store",
    "local_bind_address",
    "rendezvous_timeout",
]

#: Seconds to wait for the rendezvous, read when the strategy gives none.
RENDEZVOUS_TIMEOUT_VARIABLE = "PLKIT_RENDEZVOUS_TIMEOUT"
DEFAULT_RENDEZVOUS_TIMEOUT = timedelta(minutes=5)
_CHECK = "MASTER_ADDR and MASTER_PORT (the same on every node; rank 0's machine and a free port)"


def rendezvous_timeout(given: timedelta | None = None) -> timedelta:
    """``given``, else ``PLKIT_RENDEZVOUS_TIMEOUT`` (seconds), else 5 minutes.

    Args:
        given: the strategy's ``rendezvous_timeout`` argument.

    Raises:
        ValueError: the variable is not a positive number of seconds.
    """
    if given is not None:
        return given
    raw = os.environ.get(RENDEZVOUS_TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_RENDEZVOUS_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(
            f"{RENDEZVOUS_TIMEOUT_VARIABLE}={raw!r} is not valid; write a positive number of "
            f"seconds, e.g. {RENDEZVOUS_TIMEOUT_VARIABLE}=300, or unset it for 5 minutes."
        )
    return timedelta(seconds=seconds)


def local_bind_address(host: str, port: int) -> tuple[socket.AddressFamily, tuple] | None:
    """The first address ``host`` resolves to, if it belongs to this machine; else None.

    Clients try the resolved addresses in the same order, so the first one is where they
    connect. "Belongs to this machine" means a socket can be bound to it (no packet is sent).

    Args:
        host: the main address (``MASTER_ADDR``).
        port: the main port.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return None
    if not infos:
        return None
    family, _, _, _, sockaddr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((sockaddr[0], 0, *sockaddr[2:]))
        except OSError:
            return None
    return family, sockaddr


def create_store(
    host: str, port: int, rank: int, world_size: int, timeout: timedelta, agent_store: bool
) -> dist.TCPStore:
    """Host (rank 0) or join the rendezvous store; wait at most ``timeout`` for the others.

    Args:
        host: the main address.
        port: the main port.
        rank: this process's global rank.
        world_size: the number of ranks that must join.
        timeout: how long to wait for the store (a client) or for every rank (rank 0).
        agent_store: torchrun's agent already hosts the store; every rank is a client.

    Raises:
        RendezvousError: the ranks did not meet within ``timeout``, or rank 0 cannot listen.
    """
    is_master = rank == 0 and not agent_store
    where = f"{host}:{port}"
    if is_master:
        task = f"waiting for the other {world_size - 1} rank(s) to join at {where}"
    else:
        task = f"waiting to reach rank 0's store at {where}"
    done = threading.Event()
    threading.Thread(
        target=_report_progress,
        args=(done, rank, task, timeout.total_seconds()),
        name="placcel-rendezvous-progress",
        daemon=True,
    ).start()
    try:
        listen_fd = _listen(host, port) if is_master else None
        return dist.TCPStore(
            host,
            port,
            world_size,
            is_master,
            timeout,
            wait_for_workers=True,
            master_listen_fd=listen_fd,
        )
    except dist.DistError as error:
        raise RendezvousError(
            f"rank {rank} of {world_size}: the rendezvous at {where} did not complete within "
            f"{timeout.total_seconds():g}s ({task}). Check {_CHECK}, that rank 0 is running "
            f"and that this port is reachable from every node; raise "
            f"{RENDEZVOUS_TIMEOUT_VARIABLE} (seconds) if the ranks start far apart. "
            f"torch said: {error}"
        ) from None
    finally:
        done.set()


def _listen(host: str, port: int) -> int | None:
    """A socket listening on ``host:port`` if ``host`` is local (its fd, for the store)."""
    local = local_bind_address(host, port)
    if local is None:
        return None  # not an address of this machine: torch listens on every interface
    family, sockaddr = local
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(socket.SOMAXCONN)
    except OSError as error:
        sock.close()
        reason = "is in use" if error.errno == errno.EADDRINUSE else f"failed: {error}"
        raise RendezvousError(
            f"rank 0 cannot listen on {host}:{port} for the rendezvous: the port {reason}. "
            f"Set MASTER_PORT to a free port (or unset it on a single machine: one is picked)."
        ) from None
    return sock.detach()  # the store owns the descriptor from here on


def _report_progress(done: threading.Event, rank: int, task: str, timeout: float) -> None:
    interval = max(1.0, min(30.0, timeout / 5))
    start = time.monotonic()
    while not done.wait(interval):
        waited = time.monotonic() - start
        print(
            f"[placcel] rank {rank}: {task} ({waited:.0f}s of {timeout:g}s)",
            file=sys.stderr,
            flush=True,
        )
