"""The training and validation counters in the ``loops`` of the checkpoints ModelCheckpoint saves
at epoch ends, after mid-epoch validations and on train-batch ends, with epoch- and step-interval
schedulers."""

import os
from typing import Any

import torch
from harness import T, pl
from torch.utils.data import DataLoader


class Model(pl.LightningModule):
    def __init__(self, interval: str) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.interval = interval

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.layer(batch).sum()
        self.log("loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val", self.layer(batch).sum())

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": self.interval}}


CASES: dict[str, dict[str, Any]] = {
    "epoch_end": {"interval": "epoch", "ckpt": {}, "trainer": {}},
    "step_sched": {"interval": "step", "ckpt": {}, "trainer": {}},
    "mid_epoch_val": {"interval": "epoch", "ckpt": {}, "trainer": {"val_check_interval": 3}},
    "mid_epoch_step_sched": {"interval": "step", "ckpt": {}, "trainer": {"val_check_interval": 3}},
    "train_steps": {
        "interval": "epoch",
        "ckpt": {"every_n_train_steps": 2},
        "trainer": {},
    },
    "val_monitor": {"interval": "epoch", "ckpt": {"monitor": "val"}, "trainer": {}},
}


def run(name: str, case: dict[str, Any], ckpt_path: Any = None) -> None:
    torch.manual_seed(0)
    train = DataLoader(torch.randn(12, 2), batch_size=2)
    val = DataLoader(torch.randn(6, 2), batch_size=2)
    ckpt = pl.callbacks.ModelCheckpoint(
        dirpath=name, filename="{epoch}-{step}", save_top_k=-1, **case["ckpt"]
    )
    trainer = pl.Trainer(
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ckpt],
        **case["trainer"],
    )
    trainer.fit(Model(case["interval"]), train, val, ckpt_path=ckpt_path)
    for file in sorted(os.listdir(name)):
        loops = torch.load(os.path.join(name, file), weights_only=False)["loops"]
        fit_loop = {k: v for k, v in loops["fit_loop"].items() if k != "state_dict"}
        T.note(f"{name}/{file}", fit_loop)


def main() -> None:
    for name, case in CASES.items():
        run(name, case)
    # resumed inside an epoch: the counters go on from the checkpoint's
    run("resumed_steps", CASES["train_steps"], "train_steps/epoch=1-step=8.ckpt")
    run(
        "resumed_step_sched",
        CASES["mid_epoch_step_sched"],
        "mid_epoch_step_sched/epoch=1-step=9.ckpt",
    )

    # plkit's resumed runs end where the uninterrupted ones do (Lightning's restart the epoch's
    # loader: an expected difference)
    for resumed, whole in (
        ("resumed_steps", "train_steps"),
        ("resumed_step_sched", "mid_epoch_step_sched"),
    ):
        final = [
            torch.load(f"{name}/epoch=1-step=12.ckpt", weights_only=False)["state_dict"]
            for name in (resumed, whole)
        ]
        same = all(torch.allclose(final[0][k], final[1][k]) for k in final[0])
        T.note(f"{resumed}_equals_uninterrupted", same)
