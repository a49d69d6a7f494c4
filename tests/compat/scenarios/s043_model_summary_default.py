"""The default model summary (``enable_model_summary`` left True): the table of direct children,
their modes (a child put in eval mode), trainable / non-trainable / total params and size lines."""

import torch
from harness import T, pl
from models import DataModule, Net


class Nested(Net):
    """Net with a frozen encoder block, a dropout in eval mode and a parameter-free activation."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU())
        self.drop = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(8, 1)
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.drop.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.encoder(x))) + self.layer(x)


def main() -> None:
    model = Nested()
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
