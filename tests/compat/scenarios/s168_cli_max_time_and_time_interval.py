"""LightningCLI: --trainer.max_time as "DD:HH:MM:SS" or a dict, and --trainer.val_check_interval
as a duration, parse as under Lightning (printed config) and reach the Trainer (the Timer's
the Timer's duration; a dict interval of zero seconds validates after every batch)."""

import contextlib
import io
import sys

from harness import T, expect_exit, imp, note_cli_config
from models import DataModule, Net

REQUIRES = ("jsonargparse",)
cli = imp("cli")
QUIET = ["--trainer.logger=false", "--trainer.enable_progress_bar=false"]
QUIET += ["--trainer.enable_model_summary=false", "--trainer.enable_checkpointing=false"]


def main() -> None:
    for name, max_time, interval in [
        ("str", "00:00:01:00", "00:00:00:00"),
        ("dict", '{"minutes": 2}', '{"seconds": 0}'),
    ]:
        argv = ["fit", f"--trainer.max_time={max_time}", f"--trainer.val_check_interval={interval}"]
        sys.argv = ["train.py", *argv, "--print_config"]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), expect_exit():
            cli.LightningCLI(Net, DataModule)
        note_cli_config(f"{name}.printed", printed.getvalue())
        sys.argv = ["train.py", *argv, "--trainer.max_epochs=1", "--trainer.limit_train_batches=3"]
        sys.argv += [*QUIET, "--trainer.default_root_dir=" + name]
        made = cli.LightningCLI(Net, DataModule, save_config_callback=None)
        timers = [cb for cb in made.trainer.callbacks if type(cb).__name__ == "Timer"]
        T.note(f"{name}.timer", [round(t.time_remaining() + t.time_elapsed()) for t in timers])
        T.note(f"{name}.global_step", made.trainer.global_step)
