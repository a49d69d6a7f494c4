"""The rendezvous store: where it listens, how long it waits, what it says (issue 15, items 4-5).

Everything stays on 127.0.0.0/8; ``192.0.2.1`` (TEST-NET-1) is only ever bound to, which fails
locally without sending anything.
"""

from __future__ import annotations

import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from placcel import DDPStrategy, RendezvousError, build_strategy
from placcel._ports import find_free_port
from placcel._rendezvous import (
    DEFAULT_RENDEZVOUS_TIMEOUT,
    create_store,
    local_bind_address,
    rendezvous_timeout,
)


def listening_addresses(port: int) -> list[str]:
    """The local addresses of sockets in LISTEN state on ``port``, from /proc/net/tcp{,6}."""
    found = []
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            if table == "tcp":
                found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:  # four little-endian 32-bit words
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_timeout_comes_from_the_argument_the_variable_or_the_default(monkeypatch):
    monkeypatch.delenv("PLKIT_RENDEZVOUS_TIMEOUT", raising=False)
    assert rendezvous_timeout() == DEFAULT_RENDEZVOUS_TIMEOUT == timedelta(minutes=5)
    monkeypatch.setenv("PLKIT_RENDEZVOUS_TIMEOUT", "2.5")
    assert rendezvous_timeout() == timedelta(seconds=2.5)
    assert rendezvous_timeout(timedelta(seconds=9)) == timedelta(seconds=9)
    for bad in ("0", "-3", "soon"):
        monkeypatch.setenv("PLKIT_RENDEZVOUS_TIMEOUT", bad)
        with pytest.raises(ValueError, match=f"PLKIT_RENDEZVOUS_TIMEOUT='{bad}' is not valid"):
            rendezvous_timeout()
    with pytest.raises(TypeError, match="rendezvous_timeout=30 must be a datetime.timedelta"):
        DDPStrategy(rendezvous_timeout=30)


def test_local_addresses_are_recognised():
    assert local_bind_address("127.0.0.1", 29500) == (socket.AF_INET, ("127.0.0.1", 29500))
    assert local_bind_address("localhost", 29500) is not None
    assert local_bind_address("192.0.2.1", 29500) is None  # not an address of this machine
    assert local_bind_address("no-such-host.invalid", 29500) is None


def test_store_listens_on_loopback_only_when_master_addr_is_loopback(monkeypatch):
    port = find_free_port()
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    strategy = build_strategy(accelerator="cpu", strategy="ddp", devices=1)
    strategy.setup_environment()
    assert dist.is_initialized()
    assert listening_addresses(port) == ["127.0.0.1"]
    assert strategy.reduce(torch.tensor(1.0)) == 1.0
    strategy.teardown()


def test_a_port_in_use_is_named():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(RendezvousError, match=f"127.0.0.1:{port}.*is in use.*MASTER_PORT"):
            create_store("127.0.0.1", port, 0, 2, timedelta(seconds=5), agent_store=False)


@pytest.mark.parametrize("rank", [0, 1])
def test_a_rendezvous_nobody_joins_ends_with_the_address_port_and_variables(rank, capsys):
    """Rank 1: no rank 0 listens on the port. Rank 0: the other rank never comes."""
    port = find_free_port()
    start = time.monotonic()
    with pytest.raises(RendezvousError) as raised:
        create_store("127.0.0.1", port, rank, 2, timedelta(seconds=2.5), agent_store=False)
    assert time.monotonic() - start < 20
    message = str(raised.value)
    assert f"rank {rank} of 2: the rendezvous at 127.0.0.1:{port} did not complete" in message
    assert "MASTER_ADDR and MASTER_PORT" in message and "PLKIT_RENDEZVOUS_TIMEOUT" in message
    sys.stderr.flush()
    waiting = "waiting for the other 1 rank(s)" if rank == 0 else "waiting to reach rank 0"
    assert f"[placcel] rank {rank}: {waiting}" in capsys.readouterr().err
