"""``lightning.pytorch.cli``: a command line for a Trainer, a model and a datamodule.

``LightningCLI`` reads the classes' signatures (through jsonargparse, ``pip install
'plkit[cli]'``) and builds them from command-line arguments and YAML files::

    # train.py
    from plkit.cli import LightningCLI
    from mypackage import Model, Data

    if __name__ == "__main__":
        LightningCLI(Model, Data)

Run it::

    python train.py fit --trainer.max_epochs=2 --model.hidden=64
    python train.py fit --config config.yaml --optimizer=Adam --optimizer.lr=0.01
    python train.py fit --print_config > config.yaml      # every setting, with its default
    python train.py test --config config.yaml --ckpt_path=best
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial, update_wrapper
from pathlib import Path
from types import MethodType
from typing import TYPE_CHECKING, Any, NoReturn, Union

import torch
from torch.optim import Optimizer

from plcore import Callback, LightningDataModule, LightningModule, seed_everything
from plcore.hooks import is_overridden
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn
from plkit.__about__ import __version__
from plkit._cli_types import (
    LRSchedulerCallable,
    LRSchedulerType,
    LRSchedulerTypeTuple,
    LRSchedulerTypeUnion,
    OptimizerCallable,
    ReduceLROnPlateau,
)
from plkit.trainer import Trainer


def _load_lazy_namespaces() -> None:
    """Import every member of plkit's lazy namespaces (callbacks, loggers, profilers, plugins).

    jsonargparse resolves a short class name (``--trainer.logger=TensorBoardLogger``,
    ``class_path: StochasticWeightAveraging``) among the imported subclasses of the argument's
    type, so they must all be imported before the parser is built, as they are when Lightning's
    CLI runs; ``import plkit`` alone leaves them unloaded (docs/performance.md).
    """
    import plkit.callbacks
    import plkit.loggers
    import plkit.plugins
    import plkit.profilers

    for namespace in (plkit.callbacks, plkit.loggers, plkit.plugins, plkit.profilers):
        for name in namespace.__all__:
            getattr(namespace, name)


_load_lazy_namespaces()

_INSTALL = (
    "{name} needs jsonargparse with its signatures extra, which is not installed."
    " Install it with: pip install 'plkit[cli]'"
)

try:
    from plkit import _cli_parser
except ModuleNotFoundError as err:  # jsonargparse or docstring_parser missing
    if err.name not in ("jsonargparse", "docstring_parser", "typeshed_client"):
        raise
    _cli_parser = None  # type: ignore[assignment]

if TYPE_CHECKING or _cli_parser is not None:
    from plkit._cli_parser import (
        LightningArgumentParser,
        Namespace,
        SaveConfigCallback,
        instantiate_class,
        instantiate_module,
    )
else:

    class _NeedsJsonargparse:
        def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
            raise ModuleNotFoundError(_INSTALL.format(name=type(self).__name__))

    class LightningArgumentParser(_NeedsJsonargparse):  # type: ignore[no-redef]
        """Needs jsonargparse: ``pip install 'plkit[cli]'``."""

    class SaveConfigCallback(_NeedsJsonargparse, Callback):  # type: ignore[no-redef]
        """Needs jsonargparse: ``pip install 'plkit[cli]'``."""

    class Namespace(_NeedsJsonargparse):  # type: ignore[no-redef]
        """Needs jsonargparse: ``pip install 'plkit[cli]'``."""

    def instantiate_class(args: Any, init: dict[str, Any]) -> Any:
        """Needs jsonargparse: ``pip install 'plkit[cli]'``."""
        raise ModuleNotFoundError(_INSTALL.format(name="instantiate_class"))

    def instantiate_module(class_type: type, config: dict[str, Any]) -> Any:
        """Needs jsonargparse: ``pip install 'plkit[cli]'``."""
        raise ModuleNotFoundError(_INSTALL.format(name="instantiate_module"))


__all__ = [
    "ArgsType",
    "LRSchedulerCallable",
    "LRSchedulerType",
    "LRSchedulerTypeTuple",
    "LRSchedulerTypeUnion",
    "LightningArgumentParser",
    "LightningCLI",
    "OptimizerCallable",
    "ReduceLROnPlateau",
    "SaveConfigCallback",
    "instantiate_class",
    "instantiate_module",
]

ArgsType = Union[list[str], dict[str, Any], Namespace, None]

# What each subcommand's Trainer method takes that does not come from the command line.
_SUBCOMMANDS: dict[str, set[str]] = {
    "fit": {"model", "train_dataloaders", "val_dataloaders", "datamodule"},
    "validate": {"model", "dataloaders", "datamodule"},
    "test": {"model", "dataloaders", "datamodule"},
    "predict": {"model", "dataloaders", "datamodule"},
}


class LightningCLI:
    """Parse the command line and config files, build the classes, run a Trainer method.

    Args:
        model_class: a LightningModule class (or a function returning a module); ``None``
            lets ``--model`` name any LightningModule subclass.
        datamodule_class: a LightningDataModule class (or a function returning one); ``None``
            lets ``--data`` name any subclass, or be left out.
        save_config_callback: the callback that writes the config into the log folder
            (``None``: no file).
        save_config_kwargs: its keyword arguments (``{"overwrite": True}``).
        trainer_class: the Trainer class, or a function returning a Trainer.
        trainer_defaults: Trainer arguments that replace its defaults; ``callbacks`` given
            here are always added and cannot be changed from a config.
        seed_everything_default: the ``--seed_everything`` default: a seed, ``True`` for a
            random one, ``False`` not to seed.
        parser_kwargs: arguments for every parser, or per subcommand (``{"fit": {...}}``).
        parser_class: the parser class.
        subclass_mode_model: ``--model`` takes any subclass of ``model_class``
            (``class_path`` / ``init_args``).
        subclass_mode_data: ``--data`` takes any subclass of ``datamodule_class``.
        args: the arguments to parse instead of ``sys.argv``: a list as on a command line, or
            a dict / Namespace of settings.
        run: add the ``fit`` / ``validate`` / ``test`` / ``predict`` subcommands and run the
            chosen one; ``False`` only builds ``cli.model``, ``cli.datamodule``, ``cli.trainer``.
        auto_configure_optimizers: add ``--optimizer`` / ``--lr_scheduler`` and, when given,
            make the model's ``configure_optimizers`` return them.
        load_from_checkpoint_support: the model's and datamodule's ``save_hyperparameters()``
            store the parsed config, so that ``load_from_checkpoint`` rebuilds them (nested
            classes included) through :func:`instantiate_module`.
    """

    def __init__(
        self,
        model_class: type[LightningModule] | Callable[..., LightningModule] | None = None,
        datamodule_class: type[LightningDataModule]
        | Callable[..., LightningDataModule]
        | None = None,
        save_config_callback: type[SaveConfigCallback] | None = SaveConfigCallback,
        save_config_kwargs: dict[str, Any] | None = None,
        trainer_class: type[Trainer] | Callable[..., Trainer] = Trainer,
        trainer_defaults: dict[str, Any] | None = None,
        seed_everything_default: bool | int = True,
        parser_kwargs: dict[str, Any] | dict[str, dict[str, Any]] | None = None,
        parser_class: type[LightningArgumentParser] = LightningArgumentParser,
        subclass_mode_model: bool = False,
        subclass_mode_data: bool = False,
        args: ArgsType = None,
        run: bool = True,
        auto_configure_optimizers: bool = True,
        load_from_checkpoint_support: bool = True,
    ) -> None:
        if _cli_parser is None:
            raise ModuleNotFoundError(_INSTALL.format(name=type(self).__name__))
        self.save_config_callback = save_config_callback
        self.save_config_kwargs = save_config_kwargs or {}
        self.trainer_class = trainer_class
        self.trainer_defaults = trainer_defaults or {}
        self.seed_everything_default = seed_everything_default
        self.parser_kwargs = parser_kwargs or {}
        self.parser_class = parser_class
        self.auto_configure_optimizers = auto_configure_optimizers
        self.load_from_checkpoint_support = load_from_checkpoint_support
        self.model_class = model_class
        self._model_class = model_class or LightningModule
        self.subclass_mode_model = model_class is None or subclass_mode_model
        self.datamodule_class = datamodule_class
        self._datamodule_class = datamodule_class or LightningDataModule
        self.subclass_mode_data = datamodule_class is None or subclass_mode_data

        main_kwargs, subcommand_kwargs = self._setup_parser_kwargs(self.parser_kwargs)
        self.setup_parser(run, main_kwargs, subcommand_kwargs)
        self.parse_arguments(self.parser, args)
        self._parse_ckpt_path()
        self.subcommand: str | None = self.config["subcommand"] if run else None
        self._set_seed()
        if load_from_checkpoint_support:
            self._add_instantiators()
        self.before_instantiate_classes()
        self.instantiate_classes()
        self.after_instantiate_classes()
        if self.subcommand is not None:
            self._run_subcommand(self.subcommand)

    # -- the parser ------------------------------------------------------------------------------

    def _setup_parser_kwargs(
        self, parser_kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split ``parser_kwargs`` into the main parser's and the subcommands' (by name)."""
        names = self.subcommands()
        main = {k: v for k, v in parser_kwargs.items() if k not in names}
        per_subcommand = {k: v for k, v in parser_kwargs.items() if k in names}
        return main, per_subcommand

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        """Make a parser with ``-c`` / ``--config``."""
        from jsonargparse import ActionConfigFile

        kwargs.setdefault("dump_header", [f"plkit=={__version__}"])
        parser = self.parser_class(**kwargs)
        parser.add_argument(
            "-c",
            "--config",
            action=ActionConfigFile,
            help="Path to a configuration file in json or yaml format.",
        )
        return parser

    def setup_parser(
        self, add_subcommands: bool, main_kwargs: dict[str, Any], subparser_kwargs: dict[str, Any]
    ) -> None:
        """Make ``self.parser``, with one sub-parser per subcommand when ``add_subcommands``."""
        self.parser = self.init_parser(**main_kwargs)
        if add_subcommands:
            self._subcommand_method_arguments: dict[str, list[str]] = {}
            self._add_subcommands(self.parser, **subparser_kwargs)
        else:
            self._add_arguments(self.parser)

    def add_default_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Add ``--seed_everything``."""
        parser.add_argument(
            "--seed_everything",
            type=Union[bool, int],
            default=self.seed_everything_default,
            help=(
                "Set to an int to run seed_everything with this value before classes"
                " instantiation.Set to True to use a random seed."
            ),
        )

    def add_core_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Add the Trainer's (``--trainer.*``), the model's and the datamodule's arguments."""
        parser.add_lightning_class_args(self.trainer_class, "trainer")
        defaults = {f"trainer.{k}": v for k, v in self.trainer_defaults.items() if k != "callbacks"}
        parser.set_defaults(defaults)
        parser.add_lightning_class_args(
            self._model_class, "model", subclass_mode=self.subclass_mode_model
        )
        # Without a datamodule class the group is optional: the model may hold its own loaders.
        parser.add_lightning_class_args(
            self._datamodule_class,
            "data",
            subclass_mode=self.subclass_mode_data,
            required=self.datamodule_class is not None,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Override to add arguments or links (``parser.link_arguments``) to the parser.

        Args:
            parser: the parser (one per subcommand).
        """

    def _add_arguments(self, parser: LightningArgumentParser) -> None:
        self.add_default_arguments_to_parser(parser)
        self.add_core_arguments_to_parser(parser)
        self.add_arguments_to_parser(parser)
        if self.auto_configure_optimizers:  # unless add_arguments_to_parser added its own
            if not parser._optimizers:
                parser.add_optimizer_args((Optimizer,))
            if not parser._lr_schedulers:
                parser.add_lr_scheduler_args(LRSchedulerTypeTuple)
        self.link_optimizers_and_lr_schedulers(parser)

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """The subcommands, each with the Trainer-method arguments the command line skips."""
        return {name: set(skip) for name, skip in _SUBCOMMANDS.items()}

    def _add_subcommands(self, parser: LightningArgumentParser, **kwargs: Any) -> None:
        self._subcommand_parsers: dict[str, LightningArgumentParser] = {}
        subcommands = parser.add_subcommands()
        trainer_class = self.trainer_class
        if not isinstance(trainer_class, type):
            trainer_class = _cli_parser.class_from_function(trainer_class)
        for name in self.subcommands():
            description = _cli_parser.short_description(getattr(trainer_class, name))
            sub_kwargs = dict(kwargs.get(name, {}))
            sub_kwargs.setdefault("description", description)
            sub = self._prepare_subcommand_parser(trainer_class, name, **sub_kwargs)
            self._subcommand_parsers[name] = sub
            subcommands.add_subcommand(name, sub, help=description)

    def _prepare_subcommand_parser(
        self, klass: type, subcommand: str, **kwargs: Any
    ) -> LightningArgumentParser:
        parser = self.init_parser(**kwargs)
        self._add_arguments(parser)
        skip: set[str | int] = set(self.subcommands()[subcommand])
        # ckpt_path, verbose, ...: remembered so that only they are passed to the method
        self._subcommand_method_arguments[subcommand] = parser.add_method_arguments(
            klass, subcommand, skip=skip
        )
        return parser

    @staticmethod
    def link_optimizers_and_lr_schedulers(parser: LightningArgumentParser) -> None:
        """Link each optimizer / scheduler group given a ``link_to`` key to that key."""
        groups = {**parser._optimizers, **parser._lr_schedulers}
        for key, (classes, link_to) in groups.items():
            if link_to == "AUTOMATIC":
                continue
            if isinstance(classes, tuple):
                parser.link_arguments(key, link_to)
            else:
                compute = partial(_cli_parser.with_class_path, classes)
                parser.link_arguments(key, link_to, compute_fn=compute)

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        """Parse ``args`` (or ``sys.argv``) into ``self.config``."""
        if args is not None and len(sys.argv) > 1:
            rank_zero_warn(
                "LightningCLI's args parameter is intended to run from within Python like if it"
                " were from the command line. To prevent mistakes it is not recommended to provide"
                f" both args and command line arguments, got: sys.argv[1:]={sys.argv[1:]},"
                f" args={args}."
            )
        if isinstance(args, (dict, Namespace)):
            self.config = parser.parse_object(args)
        else:
            self.config = parser.parse_args(args)

    def _parse_ckpt_path(self) -> None:
        """With ``--ckpt_path`` naming a file, the model's config comes from its hyper-parameters
        (so ``test --ckpt_path=...`` builds the model that was trained)."""
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return
        ckpt_path = self.config[subcommand].get("ckpt_path")
        if not ckpt_path or not Path(ckpt_path).is_file():
            return
        checkpoint = torch.load(ckpt_path, weights_only=True, map_location="cpu")
        hparams = dict(checkpoint.get("hyper_parameters") or {})
        hparams.pop("_instantiator", None)
        if not hparams:
            return
        if "_class_path" in hparams:
            hparams = {"class_path": hparams.pop("_class_path"), "dict_kwargs": hparams}
        try:
            self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)
        except SystemExit:
            sys.stderr.write("Parsing of ckpt_path hyperparameters failed!\n")
            raise

    def _dump_config(self) -> dict[str, Any]:
        """The parsed config as plain data (the subcommand's part), made once."""
        if not hasattr(self, "config_dump"):
            dump = _cli_parser.dump_config(self.parser, self.config)
            self.config_dump = dump[self.config.subcommand] if "subcommand" in self.config else dump
        return self.config_dump

    def _add_instantiators(self) -> None:
        for key, cls, subclasses in (
            ("model", self._model_class, self.subclass_mode_model),
            ("data", self._datamodule_class, self.subclass_mode_data),
        ):
            self.parser.add_instantiator(
                _cli_parser.ModuleInstantiator(self._dump_config, key),
                _cli_parser.module_type(cls),
                subclasses=subclasses,
            )

    # -- building the classes --------------------------------------------------------------------

    def before_instantiate_classes(self) -> None:
        """Override to run code before the classes are built (``self.config`` is parsed)."""

    def instantiate_classes(self) -> None:
        """Build the datamodule, the model (with the CLI's optimizers) and the Trainer."""
        self.config_init = self.parser.instantiate_classes(self.config)
        self.datamodule = self._get(self.config_init, "data")
        self.model = self._get(self.config_init, "model")
        self._add_configure_optimizers_method_to_model(self.subcommand)
        self.trainer = self.instantiate_trainer()

    def after_instantiate_classes(self) -> None:
        """Override to run code after the classes are built."""

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """Build the Trainer from its config, ``kwargs`` replacing config values.

        Args:
            kwargs: Trainer arguments that win over the config.
        """
        extra = [
            self._get(self.config_init, key) for key in self._parser(self.subcommand).callback_keys
        ]
        config = {**self._get(self.config_init, "trainer", default={}), **kwargs}
        return self._instantiate_trainer(config, extra)

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        if "callbacks" not in config:
            rank_zero_warn(
                f"The `{self.trainer_class.__qualname__}` class does not expose the `callbacks`"
                " argument so they will not be included."
            )
            return self.trainer_class(**config)
        given = config["callbacks"]
        all_callbacks = [] if given is None else list(given) if isinstance(given, list) else [given]
        all_callbacks.extend(callbacks)
        if "callbacks" in self.trainer_defaults:
            fixed = self.trainer_defaults["callbacks"]
            all_callbacks.extend(fixed if isinstance(fixed, list) else [fixed])
        if self.save_config_callback and not config.get("fast_dev_run", False):
            all_callbacks.append(
                self.save_config_callback(
                    self._parser(self.subcommand),
                    self.config.get(str(self.subcommand), self.config),
                    **self.save_config_kwargs,
                )
            )
        config["callbacks"] = all_callbacks
        return self.trainer_class(**config)

    def _parser(self, subcommand: str | None) -> LightningArgumentParser:
        return self.parser if subcommand is None else self._subcommand_parsers[subcommand]

    @staticmethod
    def configure_optimizers(
        lightning_module: LightningModule,
        optimizer: Optimizer,
        lr_scheduler: LRSchedulerTypeUnion | None = None,
    ) -> Any:
        """What the model's ``configure_optimizers`` returns; override to change it.

        Args:
            lightning_module: the model.
            optimizer: the optimizer built from ``--optimizer``.
            lr_scheduler: the scheduler built from ``--lr_scheduler``, if one was given.
        """
        if lr_scheduler is None:
            return optimizer
        if isinstance(lr_scheduler, ReduceLROnPlateau):
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": lr_scheduler, "monitor": lr_scheduler.monitor},
            }
        return [optimizer], [lr_scheduler]

    def _add_configure_optimizers_method_to_model(self, subcommand: str | None) -> None:
        """Make the model's ``configure_optimizers`` return the configured optimizer (and
        scheduler), when one optimizer group (and at most one scheduler group) is AUTOMATIC."""
        if not self.auto_configure_optimizers:
            return
        parser = self._parser(subcommand)
        optimizers = _automatic(parser._optimizers, (Optimizer,))
        schedulers = _automatic(parser._lr_schedulers, LRSchedulerTypeTuple)
        if not optimizers:
            return
        if len(optimizers) > 1 or len(schedulers) > 1:
            raise MisconfigurationException(
                f"`{type(self).__name__}.add_configure_optimizers_method_to_model` expects at most"
                " one optimizer and one lr_scheduler to be 'AUTOMATIC', but found"
                f" {optimizers + schedulers}. In this case the user is expected to link the"
                " argument groups and implement `configure_optimizers`, see"
                " https://lightning.ai/docs/pytorch/stable/common/lightning_cli.html"
                "#optimizers-and-learning-rate-schedulers"
            )
        optimizer_init = self._group_init(parser._optimizers, optimizers[0])
        if not optimizer_init:
            return  # the group exists but the user chose no optimizer
        scheduler_init = (
            self._group_init(parser._lr_schedulers, schedulers[0]) if schedulers else None
        )
        if is_overridden(self.model, "configure_optimizers", LightningModule):
            rank_zero_warn(
                f"`{type(self.model).__name__}.configure_optimizers` will be overridden by "
                f"`{type(self).__name__}.configure_optimizers`."
            )
        optimizer = instantiate_class(self.model.parameters(), optimizer_init)
        scheduler = instantiate_class(optimizer, scheduler_init) if scheduler_init else None
        method = partial(self.configure_optimizers, optimizer=optimizer, lr_scheduler=scheduler)
        update_wrapper(method, self.configure_optimizers)
        self.model.configure_optimizers = MethodType(method, self.model)

    def _group_init(self, registry: dict[str, Any], key: str) -> dict[str, Any] | None:
        """A group's parsed value as ``{"class_path", "init_args"}`` (a fixed class gets its path)."""
        classes = registry[key][0]
        init = self._get(self.config_init, key)
        if isinstance(classes, tuple):
            return init
        return _cli_parser.with_class_path(classes, init)

    def _get(self, config: Namespace, key: str, default: Any = None) -> Any:
        """``config[key]``, looked up under the subcommand when there is one."""
        return config.get(str(self.subcommand), config).get(key, default)

    # -- running ---------------------------------------------------------------------------------

    def _run_subcommand(self, subcommand: str) -> None:
        """Call ``before_<subcommand>``, the method (the CLI's own, else the Trainer's), then
        ``after_<subcommand>``."""
        before = getattr(self, f"before_{subcommand}", None)
        if callable(before):
            before()
        method = getattr(self, subcommand, getattr(self.trainer, subcommand))
        method(**self._prepare_subcommand_kwargs(subcommand))
        after = getattr(self, f"after_{subcommand}", None)
        if callable(after):
            after()

    def _prepare_subcommand_kwargs(self, subcommand: str) -> dict[str, Any]:
        """The subcommand method's arguments: its parsed options, the model, the datamodule."""
        wanted = self._subcommand_method_arguments[subcommand]
        kwargs = {k: v for k, v in self.config_init[subcommand].items() if k in wanted}
        kwargs["model"] = self.model
        if self.datamodule is not None:
            kwargs["datamodule"] = self.datamodule
        return kwargs

    def _set_seed(self) -> None:
        """Seed as ``--seed_everything`` says and store the seed used in the config."""
        seed = self._get(self.config, "seed_everything")
        if seed is False:
            return
        seed = seed_everything(None if seed is True else seed, workers=True)
        target = self.config[self.subcommand] if self.subcommand else self.config
        target["seed_everything"] = seed


def _automatic(registry: dict[str, Any], bases: tuple[type, ...]) -> list[str]:
    """The keys of the groups linked ``AUTOMATIC`` whose classes are ``bases`` subclasses."""
    keys = []
    for key, (classes, link_to) in registry.items():
        options = classes if isinstance(classes, tuple) else (classes,)
        if link_to == "AUTOMATIC" and any(issubclass(c, bases) for c in options):
            keys.append(key)
    return keys
