"""A small stand-in for the Trainer: the attributes the built-in callbacks read, and a
``save_checkpoint`` / ``remove_checkpoint`` pair that write and delete real files while recording
the order of events."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
import torch


class FakeStrategy:
    def __init__(self, events: list[tuple[str, str]]) -> None:
        self.events = events
        self.root_device = torch.device("cpu")
        self.broadcasts: list[Any] = []
        self.decisions: list[tuple[bool, bool]] = []

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        self.broadcasts.append(obj)
        return obj

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        self.decisions.append((decision, all))
        return decision

    def remove_checkpoint(self, path: str) -> None:
        self.events.append(("remove", path))
        if os.path.exists(path):
            os.remove(path)

    def barrier(self, name: str | None = None) -> None:
        pass


class FakeTrainer(SimpleNamespace):
    def save_checkpoint(self, filepath: str, weights_only: bool = False) -> None:
        self.events.append(("save", filepath))
        self.weights_only.append(weights_only)
        os.makedirs(os.path.dirname(filepath), exist_ok=True)
        with open(filepath, "w") as f:
            f.write(f"step={self.global_step}")

    @property
    def validates_once_per_epoch(self) -> bool:  # as plkit's Trainer answers it
        return self.check_val_every_n_epoch == 1 and self.val_check_interval == 1.0

    @property
    def saved(self) -> list[str]:
        return [path for kind, path in self.events if kind == "save"]

    @property
    def removed(self) -> list[str]:
        return [path for kind, path in self.events if kind == "remove"]


def make_fake_trainer(root: str, **overrides: Any) -> FakeTrainer:
    events: list[tuple[str, str]] = []
    values: dict[str, Any] = dict(
        events=events,
        weights_only=[],
        callback_metrics={},
        current_epoch=0,
        global_step=0,
        max_epochs=10,
        max_steps=-1,
        should_stop=False,
        sanity_checking=False,
        fast_dev_run=0,
        state=SimpleNamespace(fn="fit", stage="train"),
        is_global_zero=True,
        global_rank=0,
        world_size=1,
        loggers=[],
        logger=None,
        default_root_dir=root,
        log_dir=None,
        check_val_every_n_epoch=1,
        val_check_interval=1.0,
        num_val_batches=[2],
        num_training_batches=4,
        optimizers=[],
        lr_scheduler_configs=[],
        log_every_n_steps=1,
        ckpt_path=None,
        strategy=FakeStrategy(events),
    )
    values.update(overrides)
    return FakeTrainer(**values)


@pytest.fixture
def fake_trainer(tmp_path: Any) -> Any:
    """``fake_trainer(**overrides)`` builds a FakeTrainer rooted in a temporary folder."""

    def build(**overrides: Any) -> FakeTrainer:
        return make_fake_trainer(str(tmp_path), **overrides)

    return build
