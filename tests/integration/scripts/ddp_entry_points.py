"""fit, then validate, test and predict with the same Trainer under DDP (issue 15, item 11).

Run by ``tests/integration/test_ddp_trainer.py`` as a user would (``python script.py``, the
subprocess launcher starts rank 1). Each rank writes ``entry-rank<N>.pt`` into PLKIT_TEST_OUT
with the weights after ``fit`` and what the three later entry points returned.
"""

import os

import torch
from ddp_fit import Model, dataset
from torch import nn
from torch.utils.data import DataLoader

import plkit as pl


class EntryPointsModel(Model):
    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", nn.functional.mse_loss(self.net(x), y), sync_dist=True)

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        x, _ = batch
        return self.net(x)


def loader() -> DataLoader:
    return DataLoader(dataset(), batch_size=8)


def main():
    out = os.environ["PLKIT_TEST_OUT"]
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        strategy="ddp",
        devices=2,
        default_root_dir=out,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        logger=False,
    )
    model = EntryPointsModel()
    trainer.fit(model, loader(), loader())
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    validated = trainer.validate(model, loader())
    tested = trainer.test(model, loader())
    predictions = trainer.predict(model, loader())
    torch.save(
        {
            "weights": weights,
            "world_size": trainer.world_size,
            "validate": validated,
            "test": tested,
            "predictions": torch.cat(predictions),
        },
        os.path.join(out, f"entry-rank{trainer.global_rank}.pt"),
    )


if __name__ == "__main__":
    main()
