"""Fits that train nothing: every training_step returns None; an optimizer over parameters that
are not the module's. Lightning says nothing beyond its per-step None warning; plkit warns."""

import torch
from harness import T
from models import Net, bare_trainer, loader
from torch import nn


class SkipsAll(Net):
    def training_step(self, batch, batch_idx):
        super().training_step(batch, batch_idx)
        return None


class ForeignOptimizer(Net):
    def configure_optimizers(self):
        return torch.optim.SGD([nn.Parameter(torch.zeros(3))], lr=0.1)


def main() -> None:
    model = SkipsAll()
    T.fit(bare_trainer(max_epochs=2), model, train_dataloaders=loader())
    T.final(model)
    model = ForeignOptimizer()
    T.fit(bare_trainer(max_epochs=1), model, train_dataloaders=loader())
    T.note("weights", [p.tolist() for p in model.parameters()])
