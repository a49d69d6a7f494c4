"""The PossibleUserWarnings of a plain fit: dataloaders without worker processes and a logging
interval longer than the epoch; their category and text."""

from harness import T
from models import Net, loader, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(max_epochs=1, log_every_n_steps=10)
    T.fit(trainer, model, train_dataloaders=loader(64), val_dataloaders=loader(32, seed=1))
    T.test(trainer, model, dataloaders=loader(32, seed=2))
    T.final(model)
