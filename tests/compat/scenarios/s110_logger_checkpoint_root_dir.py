"""logger=False with enable_checkpointing=False, logger=True and a list of loggers, each with a
default_root_dir: the loggers, log_dir, checkpoint callback and files written."""

from harness import T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    kw = {
        "max_epochs": 1,
        "limit_train_batches": 2,
        "limit_val_batches": 1,
        "enable_progress_bar": False,
    }
    none = quiet_trainer(logger=False, enable_checkpointing=False, default_root_dir="none", **kw)
    T.fit(none, model, datamodule=DataModule())
    default = quiet_trainer(logger=True, default_root_dir="root", **kw)
    T.fit(default, model, datamodule=DataModule())
    loggers = [pl.loggers.CSVLogger("csv"), pl.loggers.TensorBoardLogger("tb", name="tbrun")]
    several = quiet_trainer(logger=loggers, default_root_dir="several", **kw)
    T.fit(several, model, datamodule=DataModule())
    T.note("logger_is_first", several.logger is loggers[0])
    T.final(model)
