"""``WandbLogger`` (from ``pllog.wandb``), at Lightning's ``loggers.wandb`` path."""

from pllog.wandb import WandbLogger

__all__ = ["WandbLogger"]
