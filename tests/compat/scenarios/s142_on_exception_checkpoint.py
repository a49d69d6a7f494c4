"""OnExceptionCheckpoint: an exception in the middle of fit writes on_exception.ckpt (its keys,
progress and weights are recorded by the runner); it replaces the default ModelCheckpoint, is
listed in trainer.checkpoint_callbacks, refuses enable_checkpointing=False; a later fit with
ckpt_path=None resumes from it ("last"); a fit that ends normally deletes the file (teardown)."""

import os

import torch
from harness import T, pl
from models import Net, caught, loader, quiet_trainer


class TrainOnly(Net):
    validation_step = pl.LightningModule.validation_step  # no validation: no val-loop warning


class Boom(TrainOnly):
    def training_step(self, batch, batch_idx):
        if self.current_epoch == 1 and batch_idx == 2:
            raise RuntimeError("boom")
        return super().training_step(batch, batch_idx)


def main() -> None:
    OEC = pl.callbacks.OnExceptionCheckpoint
    cb = OEC(dirpath="ckpts")
    T.note("ckpt_path", cb.ckpt_path)
    trainer = quiet_trainer(max_epochs=3, logger=False, enable_progress_bar=False, callbacks=[cb])
    T.note("callbacks", [type(c).__name__ for c in trainer.callbacks])
    T.note("checkpoint_callbacks", [type(c).__name__ for c in trainer.checkpoint_callbacks])
    torch.manual_seed(0)
    boom = Boom()
    try:
        trainer.fit(boom, train_dataloaders=loader(64, 16))
    except RuntimeError as exc:
        T.note("raised", str(exc))
    T.note("written", sorted(os.listdir("ckpts")))
    ckpt = torch.load("ckpts/on_exception.ckpt", weights_only=False)
    # "processed" is where a resume starts; Lightning also counts the failed batch as ready and
    # started (and the one before as completed), plkit's record does not: not compared
    progress = ckpt["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["processed"]
    T.note(
        "contents",
        {
            "keys": sorted(ckpt),
            "epoch": ckpt["epoch"],
            "global_step": ckpt["global_step"],
            "batch_progress": progress,
            "state_dict": ckpt["state_dict"],
            "optimizer_state": ckpt["optimizer_states"][0]["param_groups"],
            "callbacks": sorted(ckpt["callbacks"]),
            "equals_model": all(
                torch.equal(ckpt["state_dict"][k], v) for k, v in boom.state_dict().items()
            ),
        },
    )
    # the same script again (a new Trainer, ckpt_path=None): fit resumes from the file, with
    # Lightning's warning, continues at epoch 1 batch 2, and deletes the file when it succeeds
    model = TrainOnly()
    again = quiet_trainer(
        max_epochs=3, logger=False, enable_progress_bar=False, callbacks=[OEC(dirpath="ckpts")]
    )
    T.fit(again, model, train_dataloaders=loader(64, 16))
    T.final(model)
    T.note("after_success", sorted(os.listdir("ckpts")))
    # another file name
    cb2 = OEC(dirpath="ckpts", filename="second")
    T.note("second_path", cb2.ckpt_path)
    # the run that never failed: plkit's resumed weights are these (exact resume)
    torch.manual_seed(0)
    whole = TrainOnly()
    quiet_trainer(
        max_epochs=3, logger=False, enable_progress_bar=False, enable_checkpointing=False
    ).fit(whole, train_dataloaders=loader(64, 16))
    T.note(
        "resumed_equals_uninterrupted",
        all(torch.equal(a, b) for a, b in zip(model.parameters(), whole.parameters())),
    )
    T.note("empty_name", caught(lambda: OEC("ckpts", filename="")))
    T.note(
        "no_checkpointing",
        caught(lambda: quiet_trainer(enable_checkpointing=False, callbacks=[OEC("ckpts")])),
    )
    both = quiet_trainer(
        enable_progress_bar=False, callbacks=[OEC("ckpts"), pl.callbacks.ModelCheckpoint()]
    )
    T.note("with_model_checkpoint", [type(c).__name__ for c in both.callbacks])
