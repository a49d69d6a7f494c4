"""accelerator="cpu"/"auto", devices=1/"auto", num_nodes=1, deterministic, benchmark and
inference_mode=False: the trainer's properties and the torch modes a step runs under."""

from typing import Any

import torch
from harness import T
from models import DataModule, Net, bare_trainer, flags_of


class Modes(Net):
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        if batch_idx == 0:
            T.hook(
                "model",
                "val_modes",
                inference=torch.is_inference_mode_enabled(),
                grad=torch.is_grad_enabled(),
                training=self.training,
            )
        super().validation_step(batch, batch_idx)


def main() -> None:
    model = Modes()
    kw = {"max_epochs": 1, "limit_train_batches": 1, "limit_val_batches": 1}
    cpu = bare_trainer(
        accelerator="cpu",
        devices=1,
        num_nodes=1,
        deterministic=True,
        benchmark=False,
        inference_mode=False,
        **kw,
    )
    T.note("deterministic", torch.are_deterministic_algorithms_enabled())
    T.note("cudnn", [torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark])
    T.fit(cpu, model, datamodule=DataModule())
    T.note("cpu", flags_of(cpu))
    auto = bare_trainer(accelerator="auto", devices="auto", deterministic=False, **kw)
    T.note("deterministic_off", torch.are_deterministic_algorithms_enabled())
    T.fit(auto, model, datamodule=DataModule())
    T.note("auto", flags_of(auto))
    T.validate(auto, model, datamodule=DataModule())
    T.final(model)
