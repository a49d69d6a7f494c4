"""fast_dev_run=True: one batch of each loop, no sanity check, no logger or checkpoint files;
what it prints and the trainer's limits afterwards."""

from harness import RecordingCallback, T
from models import DataModule, Net, flags_of, quiet_trainer


def main() -> None:
    model = Net()
    dm = DataModule()
    trainer = quiet_trainer(fast_dev_run=True, callbacks=[RecordingCallback()])
    T.fit(trainer, model, datamodule=dm)
    T.note("flags", flags_of(trainer))
    T.validate(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.predict(trainer, model, datamodule=dm)
    T.final(model)
