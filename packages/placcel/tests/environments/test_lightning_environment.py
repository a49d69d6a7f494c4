import socket

import pytest

from placcel.environments import LightningEnvironment


def test_defaults_for_the_process_the_user_started():
    env = LightningEnvironment()
    assert env.main_address == "127.0.0.1"
    assert env.creates_processes_externally is False
    assert (env.local_rank(), env.node_rank(), env.global_rank(), env.world_size()) == (0, 0, 0, 1)
    assert LightningEnvironment.detect()


def test_free_port_is_picked_once_and_is_bindable():
    env = LightningEnvironment()
    port = env.main_port
    assert env.main_port == port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # nobody else holds it


def test_reads_variables_set_by_the_launcher(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29511")
    monkeypatch.setenv("NODE_RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    env = LightningEnvironment()
    env.set_global_rank(3)
    env.set_world_size(4)
    assert env.creates_processes_externally
    assert (env.main_address, env.main_port) == ("10.0.0.1", 29511)
    assert (env.local_rank(), env.node_rank(), env.global_rank(), env.world_size()) == (1, 1, 3, 4)


def test_bad_integer_variable_is_named(monkeypatch):
    monkeypatch.setenv("NODE_RANK", "one")
    with pytest.raises(ValueError, match="NODE_RANK='one' is not an integer"):
        LightningEnvironment().node_rank()


@pytest.mark.parametrize(
    ("variables", "devices", "nodes", "match"),
    [
        (
            {"WORLD_SIZE": "3"},
            2,
            1,
            r"WORLD_SIZE=3 disagrees with the flags devices=2 x num_nodes=1 = 2",
        ),
        ({"LOCAL_RANK": "2"}, 2, 1, r"LOCAL_RANK=2 is out of range for the flag devices=2"),
        (
            {"NODE_RANK": "2", "MASTER_PORT": "1234"},
            1,
            2,
            r"NODE_RANK=2 is out of range for the flag num_nodes=2",
        ),
        ({"NODE_RANK": "1"}, 1, 2, r"num_nodes=2 needs MASTER_ADDR and MASTER_PORT"),
    ],
)
def test_validate_settings_names_variables_and_flags(monkeypatch, variables, devices, nodes, match):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        LightningEnvironment().validate_settings(devices, nodes)


def test_validate_settings_accepts_consistent_values(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("MASTER_PORT", "1234")
    monkeypatch.setenv("NODE_RANK", "1")
    LightningEnvironment().validate_settings(2, 2)
