"""Empty loaders: an empty training loader (fit trains nothing), empty validation and test
loaders; the warnings and messages a user gets, and what the trainer reports."""

from harness import T
from models import Flow, Net, bare_trainer, flags_of, loader, regression_data
from torch.utils.data import DataLoader, Subset


def empty() -> DataLoader:
    return DataLoader(Subset(regression_data(), []), batch_size=16)


def main() -> None:
    model = Net()
    trainer = bare_trainer(max_epochs=2, callbacks=[Flow()])
    T.fit(trainer, model, train_dataloaders=empty(), val_dataloaders=loader())
    T.note("after_empty_train", flags_of(trainer))
    trainer = bare_trainer(max_epochs=1, callbacks=[Flow()])
    T.fit(trainer, model, train_dataloaders=loader(), val_dataloaders=empty())
    T.note("after_empty_val", flags_of(trainer))
    T.validate(trainer, model, dataloaders=empty())
    T.test(trainer, model, dataloaders=empty())
    T.predict(trainer, model, dataloaders=empty())
    T.note("after_empty_eval", flags_of(trainer))
    T.final(model)
