"""A plkit training script run by the multi-process tests (python, torchrun, two "nodes").

Configured by environment variables: PLKIT_TEST_OUT (folder for per-rank results),
PLKIT_TEST_STRATEGY ("ddp" or "ddp_spawn"), PLKIT_TEST_DEVICES, PLKIT_TEST_NUM_NODES,
PLKIT_TEST_FAIL_RANK (a rank that raises in its third step).
"""

import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


class Model(pl.LightningModule):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

    def training_step(self, batch, batch_idx):
        if (
            self.global_rank == int(os.environ.get("PLKIT_TEST_FAIL_RANK", "-1"))
            and self.global_step == 2
        ):
            raise RuntimeError(f"rank {self.global_rank} failed on purpose")
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y), sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)


def dataset():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


def main():
    out = os.environ["PLKIT_TEST_OUT"]
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        strategy=os.environ.get("PLKIT_TEST_STRATEGY", "ddp"),
        devices=int(os.environ.get("PLKIT_TEST_DEVICES", "2")),
        num_nodes=int(os.environ.get("PLKIT_TEST_NUM_NODES", "1")),
        default_root_dir=out,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    model = Model()
    trainer.fit(model, DataLoader(dataset(), batch_size=8), DataLoader(dataset(), batch_size=8))
    torch.save(
        {
            "weights": model.state_dict(),
            "global_step": trainer.global_step,
            "world_size": trainer.world_size,
            "val_loss": trainer.callback_metrics["val_loss"],
        },
        os.path.join(out, f"rank{trainer.global_rank}.pt"),
    )


if __name__ == "__main__":
    main()
