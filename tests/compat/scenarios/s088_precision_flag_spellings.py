"""The precision flag's spellings: 32, "32", "32-true", 64, "64", 16, "bf16", "16-true", a bad one.

What trainer.precision reads back, which warnings the historical spellings give, and the class
of the error for an unknown value.
"""

from harness import T, pl
from models import caught


def main() -> None:
    for flag in (32, "32", "32-true", 64, "64", "bf16", 16, "16-true", "bf16-true"):
        trainer = pl.Trainer(
            precision=flag,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
        )
        T.note(f"precision[{flag!r}]", trainer.precision)
    T.note("bad", caught(lambda: pl.Trainer(precision="12-mixed")))
