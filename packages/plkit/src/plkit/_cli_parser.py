"""The jsonargparse half of ``plkit.cli``: the parser, the config-saving callback, helpers.

Importing this module imports jsonargparse; ``plkit.cli`` imports it and, when jsonargparse is
missing, offers placeholders that say which extra to install (``pip install 'plkit[cli]'``).
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from typing import Any

import docstring_parser
import torch
import yaml
from jsonargparse import (
    ArgumentParser,
    Namespace,
    class_from_function,
    register_unresolvable_import_paths,
    set_parsing_settings,
)
from torch.optim import Optimizer

from plcore import Callback, LightningDataModule, LightningModule
from plcore.checkpoint import given_hyperparameters
from plcore.hooks import is_overridden
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn
from plkit._cli_types import LRSchedulerType, LRSchedulerTypeTuple
from plkit.trainer import Trainer

__all__ = [
    "LightningArgumentParser",
    "Namespace",
    "SaveConfigCallback",
    "class_from_function",
    "class_path_of",
    "instantiate_class",
    "instantiate_module",
    "short_description",
    "with_class_path",
]

# torch's classes are defined in private modules (torch.optim.adam) but documented at their public
# paths (torch.optim.Adam): let jsonargparse name them by the latter.
register_unresolvable_import_paths(torch)
set_parsing_settings(config_read_mode_fsspec_enabled=True)

_LIGHTNING_BASES = (Trainer, LightningModule, LightningDataModule, Callback)
# The optimizer / scheduler groups a parser holds: nested key -> (class or classes, link target).
_Registry = dict[str, tuple[type | tuple[type, ...], str]]


class LightningArgumentParser(ArgumentParser):
    """jsonargparse's ``ArgumentParser`` that knows Lightning's classes.

    Args:
        *args: jsonargparse ``ArgumentParser`` arguments.
        description: what ``--help`` says the tool does.
        env_prefix: the prefix of environment variables read when ``default_env=True``.
        default_env: whether settings may come from environment variables
            (``PL_TRAINER__MAX_EPOCHS``).
        **kwargs: jsonargparse ``ArgumentParser`` arguments.
    """

    def __init__(
        self,
        *args: Any,
        description: str = "Lightning Trainer command line tool",
        env_prefix: str = "PL",
        default_env: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            *args, description=description, env_prefix=env_prefix, default_env=default_env, **kwargs
        )
        self.callback_keys: list[str] = []
        self._optimizers: _Registry = {}
        self._lr_schedulers: _Registry = {}

    def add_lightning_class_args(
        self,
        lightning_class: Callable[..., Any] | type,
        nested_key: str,
        subclass_mode: bool = False,
        required: bool = True,
    ) -> list[str]:
        """Add the init arguments of a Trainer, LightningModule, LightningDataModule or Callback.

        Args:
            lightning_class: the class, or a function that returns an instance of one.
            nested_key: where its arguments go (``"model"`` gives ``--model.hidden``).
            subclass_mode: accept any subclass, chosen with ``class_path`` / ``init_args``.
            required: whether the group must be given (subclass mode only).

        Returns:
            The names of the arguments added.
        """
        if callable(lightning_class) and not isinstance(lightning_class, type):
            lightning_class = class_from_function(lightning_class)
        if not (
            isinstance(lightning_class, type) and issubclass(lightning_class, _LIGHTNING_BASES)
        ):
            raise MisconfigurationException(
                f"Cannot add arguments from: {lightning_class}. You should provide either a callable"
                " or a subclass of: Trainer, LightningModule, LightningDataModule, or Callback."
            )
        if issubclass(lightning_class, Callback):
            self.callback_keys.append(nested_key)
        if subclass_mode:
            return self.add_subclass_arguments(
                lightning_class, nested_key, fail_untyped=False, required=required
            )
        return self.add_class_arguments(
            lightning_class,
            nested_key,
            fail_untyped=False,
            instantiate=not issubclass(lightning_class, Trainer),
            sub_configs=True,
        )

    def add_optimizer_args(
        self,
        optimizer_class: type[Optimizer] | tuple[type[Optimizer], ...] = (Optimizer,),
        nested_key: str = "optimizer",
        link_to: str = "AUTOMATIC",
    ) -> None:
        """Add an optimizer's arguments (all but ``params``) under ``nested_key``.

        Args:
            optimizer_class: an Optimizer subclass, or a tuple of base classes to choose from.
            nested_key: where its arguments go.
            link_to: the parser key the optimizer's config is linked to, or ``"AUTOMATIC"``
                (the CLI then builds the model's ``configure_optimizers``).
        """
        _check_classes(optimizer_class, (Optimizer,), "optimizer_class")
        self._add_non_instantiated(optimizer_class, nested_key, skip="params")
        self._optimizers[nested_key] = (optimizer_class, link_to)

    def add_lr_scheduler_args(
        self,
        lr_scheduler_class: LRSchedulerType | tuple[LRSchedulerType, ...] = LRSchedulerTypeTuple,
        nested_key: str = "lr_scheduler",
        link_to: str = "AUTOMATIC",
    ) -> None:
        """Add a learning-rate scheduler's arguments (all but ``optimizer``) under ``nested_key``.

        Args:
            lr_scheduler_class: an ``LRScheduler`` or :class:`ReduceLROnPlateau` subclass, or a
                tuple of base classes to choose from.
            nested_key: where its arguments go.
            link_to: the parser key the scheduler's config is linked to, or ``"AUTOMATIC"``.
        """
        _check_classes(lr_scheduler_class, LRSchedulerTypeTuple, "lr_scheduler_class")
        self._add_non_instantiated(lr_scheduler_class, nested_key, skip="optimizer")
        self._lr_schedulers[nested_key] = (lr_scheduler_class, link_to)

    def _add_non_instantiated(
        self, classes: type | tuple[type, ...], nested_key: str, skip: str
    ) -> None:
        # Optimizers and schedulers need the model's parameters: the CLI builds them later.
        kwargs: dict[str, Any] = {"instantiate": False, "fail_untyped": False, "skip": {skip}}
        if isinstance(classes, tuple):
            self.add_subclass_arguments(classes, nested_key, **kwargs)
        else:
            self.add_class_arguments(classes, nested_key, sub_configs=True, **kwargs)


def _check_classes(classes: type | tuple[type, ...], bases: tuple[type, ...], name: str) -> None:
    for cls in classes if isinstance(classes, tuple) else (classes,):
        if not (isinstance(cls, type) and issubclass(cls, bases)):
            allowed = " or ".join(f"{base.__module__}.{base.__name__}" for base in bases)
            raise TypeError(f"`{name}` takes subclasses of {allowed}, got {cls!r}.")


class SaveConfigCallback(Callback):
    """Write the CLI's parsed config into the log folder when the run is set up.

    Args:
        parser: the parser that parsed the config.
        config: the parsed config.
        config_filename: the file's name in the log folder.
        overwrite: replace a file of that name; without it, an existing file stops the run.
        multifile: when the config came from several files, keep them as several files.
        save_to_log_dir: write into the log folder; ``False`` only in a subclass whose
            :meth:`save_config` saves the config elsewhere.

    Raises:
        RuntimeError: the file is already there and ``overwrite`` is False (so a previous run's
            config is never replaced silently).
    """

    def __init__(
        self,
        parser: LightningArgumentParser,
        config: Namespace,
        config_filename: str = "config.yaml",
        overwrite: bool = False,
        multifile: bool = False,
        save_to_log_dir: bool = True,
    ) -> None:
        self.parser = parser
        self.config = config
        self.config_filename = config_filename
        self.overwrite = overwrite
        self.multifile = multifile
        self.save_to_log_dir = save_to_log_dir
        self.already_saved = False
        if not save_to_log_dir and not is_overridden(self, "save_config", SaveConfigCallback):
            raise ValueError(
                "`save_to_log_dir=False` only makes sense when subclassing SaveConfigCallback to"
                " implement `save_config` and it is desired to disable the standard behavior of"
                " saving to log_dir."
            )

    def setup(self, trainer: Any, pl_module: LightningModule, stage: str) -> None:
        """Save the config once (the first entry point), on global rank 0."""
        if self.already_saved:
            return
        if self.save_to_log_dir:
            self._write(trainer)
        if trainer.is_global_zero:
            self.save_config(trainer, pl_module, stage)
            self.already_saved = True
        # Every rank learns that rank 0 saved, so later entry points skip on all of them.
        self.already_saved = trainer.strategy.broadcast(self.already_saved)

    def _write(self, trainer: Any) -> None:
        log_dir = trainer.log_dir
        assert log_dir is not None
        path = os.path.join(log_dir, self.config_filename)
        if not self.overwrite:
            exists = os.path.isfile(path) if trainer.is_global_zero else False
            if trainer.strategy.broadcast(exists):  # every rank stops, not rank 0 alone
                raise RuntimeError(
                    f"{type(self).__name__} expected {path} to NOT exist. Aborting to avoid"
                    " overwriting results of a previous run. You can delete the previous config"
                    " file, set `LightningCLI(save_config_callback=None)` to disable config"
                    ' saving, or set `LightningCLI(save_config_kwargs={"overwrite": True})` to'
                    " overwrite the config file."
                )
        if trainer.is_global_zero:
            # Nothing has been logged yet, so the logger may not have made its folder.
            os.makedirs(log_dir, exist_ok=True)
            self.parser.save(
                self.config,
                path,
                skip_none=False,
                overwrite=self.overwrite,
                multifile=self.multifile,
            )

    def save_config(self, trainer: Any, pl_module: LightningModule, stage: str) -> None:
        """Override to save the config somewhere else too; called on global rank 0 only.

        Example::

            def save_config(self, trainer, pl_module, stage):
                config = self.parser.dump(self.config, skip_none=False)
                trainer.logger.log_hyperparams({"config": config})

        A collective call here would hang (the other ranks do not call it); override
        :meth:`setup` for that.
        """


def class_path_of(cls: type) -> str:
    """``module.Name``: how a config names ``cls``."""
    return f"{cls.__module__}.{cls.__name__}"


def with_class_path(cls: type, init_args: Namespace | dict[str, Any] | None) -> dict[str, Any]:
    """``{"class_path": ..., "init_args": ...}`` for ``cls`` and its arguments."""
    if isinstance(init_args, Namespace):
        init_args = init_args.as_dict()
    return {"class_path": class_path_of(cls), "init_args": init_args or {}}


def instantiate_class(args: Any, init: dict[str, Any]) -> Any:
    """Build ``init["class_path"]`` with positional ``args`` and ``init["init_args"]``.

    Args:
        args: the positional argument (e.g. the parameters for an optimizer), or a tuple of them.
        init: ``{"class_path": "torch.optim.SGD", "init_args": {"lr": 0.1}}``.

    Returns:
        The instance.
    """
    positional = args if isinstance(args, tuple) else (args,)
    module_name, _, name = init["class_path"].rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    return cls(*positional, **init.get("init_args", {}))


def short_description(component: object) -> str | None:
    """The first line of ``component``'s docstring (a subcommand's help), if it has one."""
    if component.__doc__ is None:
        return None
    try:
        return docstring_parser.parse(component.__doc__).short_description
    except (ValueError, docstring_parser.ParseError) as err:
        rank_zero_warn(f"Failed parsing docstring for {component}: {err}")
        return None


def module_type(value: Callable[..., Any] | type) -> type:
    """The class a model / datamodule argument builds (a function's return annotation)."""
    if callable(value) and not isinstance(value, type):
        return inspect.signature(value).return_annotation
    return value


# The import path a CLI-built module's hyper-parameters name, for load_from_checkpoint.
INSTANTIATOR_PATH = "plkit.cli.instantiate_module"


class ModuleInstantiator:
    """Builds the model or datamodule for the CLI, so that its ``save_hyperparameters()`` stores
    the parsed config (and ``_instantiator``): ``load_from_checkpoint`` then rebuilds it through
    :func:`instantiate_module`, nested classes included.

    Args:
        dump: returns the whole parsed config as plain data (called once, when first needed).
        key: the config key of the object (``"model"`` or ``"data"``).
    """

    def __init__(self, dump: Callable[[], dict[str, Any]], key: str) -> None:
        self.dump = dump
        self.key = key

    def __call__(
        self, class_type: type, *args: Any, applied_instantiation_links: dict, **kwargs: Any
    ) -> Any:
        hparams = dict(self.dump().get(self.key) or {})
        if "class_path" in hparams:  # subclass mode: stored flat, the class under _class_path
            hparams = {
                "_class_path": hparams["class_path"],
                **(hparams.get("init_args") or {}),
                **(hparams.get("dict_kwargs") or {}),
            }
        prefix = f"{self.key}."
        for target, value in applied_instantiation_links.items():
            if target.startswith(prefix):  # values linked at instantiation are known only now
                name = target[len(prefix) :].removeprefix("init_args.")
                _set_nested(hparams, name, value)
        with given_hyperparameters(hparams, INSTANTIATOR_PATH):
            return class_type(*args, **kwargs)


def _set_nested(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for name in parents:
        data = data[name]
    data[last] = value


def dump_config(parser: ArgumentParser, config: Namespace) -> dict[str, Any]:
    """The parsed config as plain data, every key kept (what the saved config.yaml holds)."""
    return yaml.safe_load(parser.dump(config, skip_link_targets=False, skip_none=False))


def instantiate_module(class_type: type, config: dict[str, Any]) -> Any:
    """Rebuild a CLI-made module from its checkpointed hyper-parameters (nested classes too).

    Args:
        class_type: the class ``load_from_checkpoint`` was called on.
        config: the saved hyper-parameters (``_class_path`` marks a subclass-mode config).

    Returns:
        The new module.
    """
    parser = ArgumentParser(exit_on_error=False)
    if "_class_path" in config:
        parser.add_subclass_arguments(class_type, "module", fail_untyped=False)
        rest = {key: value for key, value in config.items() if key != "_class_path"}
        config = {"class_path": config["_class_path"], "dict_kwargs": rest}
    else:
        parser.add_class_arguments(class_type, "module", fail_untyped=False)
    parsed = parser.parse_object({"module": config})
    return parser.instantiate_classes(parsed).module
