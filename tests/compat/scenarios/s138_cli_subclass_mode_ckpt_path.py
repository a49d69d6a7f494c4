"""LightningCLI subclass mode: the model chosen by class_path / init_args; its hyper-parameters
are the parsed config (_class_path, _instantiator); test --ckpt_path=FILE rebuilds it from the
checkpoint; load_from_checkpoint through the instantiator."""

import sys
from pathlib import Path

import torch
from harness import T, gist, imp
from models import DataModule, Net, ScaledNet

cli = imp("cli")
QUIET = ["--trainer.logger=false", "--trainer.enable_progress_bar=false"]
QUIET += ["--trainer.enable_model_summary=false", "--trainer.limit_train_batches=2"]


def main() -> None:
    Path("model.yaml").write_text(
        "model:\n  class_path: models.ScaledNet\n  init_args:\n    scale: 3.0\n"
    )
    sys.argv = ["train.py", "fit", "--config=model.yaml", "--model.lr=0.05"]
    sys.argv += ["--trainer.max_epochs=1", "--trainer.default_root_dir=run", *QUIET]
    fitted = cli.LightningCLI(Net, DataModule, subclass_mode_model=True)
    T.note("model", type(fitted.model).__name__)
    T.note("fit_hparams", gist(str(dict(fitted.model.hparams))))
    ckpt = next(Path("run").rglob("*.ckpt"))
    saved = torch.load(ckpt, weights_only=True)["hyper_parameters"]
    T.note("ckpt_hparams", gist(str(saved)))
    # The checkpoint's config wins over the command line's defaults: scale=3.0, lr=0.05.
    sys.argv = ["train.py", "test", f"--ckpt_path={ckpt}", "--model=models.ScaledNet", *QUIET]
    sys.argv += ["--trainer.default_root_dir=test"]
    tested = cli.LightningCLI(Net, DataModule, subclass_mode_model=True)
    T.note("test_hparams", gist(str(dict(tested.model.hparams))))
    T.note("test_metrics", {k: float(v) for k, v in tested.trainer.callback_metrics.items()})
    loaded = ScaledNet.load_from_checkpoint(ckpt)
    T.note("loaded", [type(loaded).__name__, loaded.scale, dict(loaded.hparams)])
    for path in [ckpt, *Path(".").rglob("config.yaml")]:
        path.unlink()  # noted above, package names normalised
    T.final(loaded)
