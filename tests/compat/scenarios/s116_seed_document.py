"""The user's source document, with its mistakes corrected: datamodule, callbacks, fit, validate,
predict, load_from_checkpoint, a customised backward pass and optimizer step."""

import torch
from harness import T, pl
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Model(pl.LightningModule):
    def __init__(self, lr: float = 1e-3):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

    def lossFunc(self, logits, labels):
        return nn.functional.mse_loss(logits, labels)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.lossFunc(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", self.lossFunc(self.net(x), y))

    def predict_step(self, batch, batch_idx):
        return self.net(batch[0])

    def backward(self, loss, *args, **kwargs):
        loss.backward()

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
        optimizer.step(closure=optimizer_closure)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


class Data(pl.LightningDataModule):
    def prepare_data(self):
        pass

    def setup(self, stage):
        generator = torch.Generator().manual_seed(1)
        x = torch.randn(96, 4, generator=generator)
        self.data = TensorDataset(x, x.sum(dim=1, keepdim=True))

    def train_dataloader(self):
        return DataLoader(self.data, batch_size=16)

    def val_dataloader(self):
        return DataLoader(self.data, batch_size=32)

    def test_dataloader(self):
        return DataLoader(self.data, batch_size=32)

    def predict_dataloader(self):
        return DataLoader(self.data, batch_size=32)


class PrintCallback(pl.Callback):
    def on_train_start(self, trainer, pl_module):
        print("Training is started!")

    def on_train_end(self, trainer, pl_module):
        print("Training is done.")


def main() -> None:
    model, data = Model(), Data()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=3,
        accumulate_grad_batches=1,
        check_val_every_n_epoch=1,
        deterministic=False,
        callbacks=[PrintCallback()],
        log_every_n_steps=2,
    )
    T.fit(trainer, model, data)
    T.validate(trainer, model, datamodule=data)
    T.predict(trainer, model, datamodule=data)
    path = trainer.checkpoint_callback.best_model_path
    loaded = Model.load_from_checkpoint(path)
    T.note("loaded_hparams", dict(loaded.hparams))
    T.note(
        "loaded_equal",
        all(torch.equal(a, b) for a, b in zip(loaded.parameters(), model.parameters())),
    )
    T.final(loaded)
