"""plkit's Trainer satisfies plcore's TrainerLink: everything a LightningModule reads of it."""

from __future__ import annotations

import inspect

import plkit as pl
from plcore.interfaces import TrainerLink


def _members(protocol: type) -> dict[str, str]:
    kinds = {}
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            kinds[name] = "property"
        elif inspect.isfunction(value):
            kinds[name] = "method"
    return kinds


def test_the_trainer_has_every_member_of_the_protocol() -> None:
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    members = _members(TrainerLink)
    assert {"lightning_optimizers", "manual_backward", "current_epoch"} <= set(members)
    for name, kind in members.items():
        attr = inspect.getattr_static(trainer, name)
        if kind == "property":  # a property of the class, or an attribute set by __init__
            assert isinstance(attr, property) or name in vars(trainer), name
            getattr(trainer, name)  # readable on a new Trainer
        else:
            assert callable(attr), name
            wanted = list(inspect.signature(getattr(TrainerLink, name)).parameters)
            assert list(inspect.signature(attr).parameters) == wanted, name
    assert isinstance(trainer, TrainerLink)


def test_a_module_reaches_the_trainer_only_through_the_protocol() -> None:
    """plcore's module.py reads nothing of ``trainer`` that the protocol does not name."""
    import ast

    import plcore.module

    source = inspect.getsource(plcore.module)
    read = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            if node.value.attr in ("trainer", "_trainer"):
                read.add(node.attr)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "trainer":
                read.add(node.attr)
    assert read - {"setter"} <= set(_members(TrainerLink)), read - set(_members(TrainerLink))
