"""``ModelSummary(max_depth=-1)`` with an ``example_input_array``: every level, In/Out sizes columns,
and a model large enough for the ``K`` abbreviation of parameter counts."""

import torch
from harness import T, pl
from models import DataModule, Net


class Wide(Net):
    def __init__(self) -> None:
        super().__init__()
        self.block = torch.nn.Sequential(
            torch.nn.Linear(8, 256), torch.nn.Tanh(), torch.nn.Sequential(torch.nn.Linear(256, 8))
        )
        self.example_input_array = torch.zeros(4, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.block(x))


def main() -> None:
    model = Wide()
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        callbacks=[pl.callbacks.ModelSummary(max_depth=-1)],
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
