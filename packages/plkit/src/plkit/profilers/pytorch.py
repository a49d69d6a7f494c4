"""``PyTorchProfiler``: ``torch.profiler`` around the run, operators per action, Chrome traces.

Each action runs inside ``record_function("[pl][profile]<action>")`` (and, with
``record_module_names``, each submodule's forward inside ``[pl][module]<class>: <name>``), so
the trace shows the Trainer's hooks and steps around the operators. The profiler steps after
every ``training_step`` / ``validation_step`` / ``test_step`` / ``predict_step``; its schedule
(by default wait 1, warm up 1, record 3 steps) decides which steps are recorded, and each
recorded cycle is exported as ``{dirpath}/{stage}-{filename}-{action}.<time>.pt.trace.json``.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.autograd.profiler import EventList, record_function
from torch.profiler import ProfilerAction, ProfilerActivity, tensorboard_trace_handler

from plcore.utilities import cloud_io
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn
from plkit.profilers.profiler import Profiler

if TYPE_CHECKING:
    from plcore import LightningModule

__all__ = ["PyTorchProfiler", "RegisterRecordFunction"]

_KINETO = torch.profiler.kineto_available()
#: Lightning's default schedule; a user's own schedule is never replaced.
_DEFAULT_SCHEDULE: Callable[[int], ProfilerAction] | None = (
    torch.profiler.schedule(wait=1, warmup=1, active=3) if _KINETO else None
)
_STAGES = ("training", "validation", "test", "predict")


class RegisterRecordFunction:
    """Labels each submodule's forward in the trace as ``[pl][module]<class path>: <name>``.

    Example::

        with RegisterRecordFunction(model):
            out = model(batch)
    """

    def __init__(self, model: nn.Module) -> None:
        self._model = model
        self._records: dict[str, record_function] = {}
        self._handles: list[Any] = []

    def _open_record(self, _: nn.Module, args: Any, name: str) -> None:
        record = record_function("[pl][module]" + name)
        record.__enter__()
        self._records[name] = record

    def _close_record(self, _: nn.Module, args: Any, output: Any, name: str) -> None:
        self._records[name].__exit__(None, None, None)

    def __enter__(self) -> None:
        for name, module in self._model.named_modules():
            if not name:
                continue
            label = f"{type(module).__module__}.{type(module).__name__}: {name}"
            self._handles.append(
                module.register_forward_pre_hook(partial(self._open_record, name=label))
            )
            self._handles.append(
                module.register_forward_hook(partial(self._close_record, name=label))
            )

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


class _StageSchedule:
    """The user's (or the default) schedule, counted per stage: training steps and validation
    steps each advance their own count, so validation inside fit does not eat the training
    schedule. Each stage records one cycle, then nothing."""

    def __init__(self, schedule: Callable[[int], ProfilerAction]) -> None:
        self._schedule = schedule
        self.reset()

    def reset(self) -> None:
        self.counts = dict.fromkeys(_STAGES, 0)
        self.finished: set[str] = set()
        self.stage: str | None = None  # the stage of the step being taken
        self.first_action: str | None = None  # the first action profiled (fit or not)
        self._previous: ProfilerAction | None = None

    def pre_step(self, action_name: str) -> None:
        self.stage = next((s for s in _STAGES if action_name.endswith(f"{s}_step")), None)

    @property
    def num_step(self) -> int:
        return self.counts[self.stage] if self.stage is not None else 0

    def _count(self) -> None:
        stage = self.stage
        assert stage is not None
        in_fit = self.first_action is not None and self.first_action.endswith("on_fit_start")
        # fit's sanity check does not count: validation steps count once training has begun
        if stage != "validation" or not in_fit or self.counts["training"] > 0:
            self.counts[stage] += 1

    def __call__(self, _num_step: int) -> ProfilerAction:
        if self.stage is None or self.stage in self.finished:
            return ProfilerAction.NONE
        self._count()
        action = self._schedule(max(self.num_step, 0))
        if self._previous == ProfilerAction.RECORD and action == ProfilerAction.WARMUP:
            action = ProfilerAction.RECORD  # validation started recording before training did
        if action == ProfilerAction.RECORD_AND_SAVE:
            self.finished.add(self.stage)
        self._previous = action
        return action


class PyTorchProfiler(Profiler):
    """PyTorch's profiler: the cost of each operator, on the CPU and (with CUDA) the GPU.

    Args:
        dirpath: where the report and traces go; ``None`` uses the Trainer's ``log_dir``.
        filename: write the report to ``{stage}-{filename}.txt`` instead of the log.
        group_by_input_shapes: group the table by operator input shapes (with
            ``record_shapes=True``).
        emit_nvtx: emit NVTX ranges for ``nvprof`` instead of profiling (needs CUDA).
        export_to_chrome: write each recorded cycle as a Chrome trace (``.pt.trace.json``).
        row_limit: rows of the table (``-1``: all).
        sort_by_key: the table's sort key (one of :attr:`AVAILABLE_SORT_KEYS`); default
            ``cuda_time_total`` when CUDA is profiled, else ``cpu_time_total``.
        record_module_names: label each submodule's forward in the trace.
        table_kwargs: more keyword arguments of ``EventList.table``.
        **profiler_kwargs: keyword arguments of ``torch.profiler.profile`` (``schedule``,
            ``activities``, ``record_shapes``, ``profile_memory``, ``with_stack``, ...), plus
            ``export_to_flame_graph`` and ``metric``.

    Raises:
        MisconfigurationException: ``sort_by_key`` is not a known key, or ``schedule`` is not a
            callable returning a ``torch.profiler.ProfilerAction``.
        KeyError: ``table_kwargs`` names ``sort_by`` / ``row_limit`` or an unknown argument.
    """

    STEP_FUNCTIONS = {"training_step", "validation_step", "test_step", "predict_step"}
    AVAILABLE_SORT_KEYS = {
        "cpu_time",
        "cuda_time",
        "cpu_time_total",
        "cuda_time_total",
        "cpu_memory_usage",
        "cuda_memory_usage",
        "self_cpu_memory_usage",
        "self_cuda_memory_usage",
        "count",
    }

    def __init__(
        self,
        dirpath: str | Path | None = None,
        filename: str | None = None,
        group_by_input_shapes: bool = False,
        emit_nvtx: bool = False,
        export_to_chrome: bool = True,
        row_limit: int = 20,
        sort_by_key: str | None = None,
        record_module_names: bool = True,
        table_kwargs: dict[str, Any] | None = None,
        **profiler_kwargs: Any,
    ) -> None:
        super().__init__(dirpath=dirpath, filename=filename)
        self._group_by_input_shapes = group_by_input_shapes and profiler_kwargs.get(
            "record_shapes", False
        )
        self._emit_nvtx = emit_nvtx
        self._export_to_chrome = export_to_chrome
        self._row_limit = row_limit
        self._sort_by_key = sort_by_key or _default_sort_by_key(profiler_kwargs)
        self._record_module_names = record_module_names
        self._profiler_kwargs = profiler_kwargs
        self._table_kwargs = table_kwargs if table_kwargs is not None else {}
        self.profiler: Any = None
        self.function_events: EventList | None = None
        self._lightning_module: LightningModule | None = None  # set by the Trainer
        self._register: RegisterRecordFunction | None = None
        self._parent_profiler: Any = None
        self._recording_map: dict[str, record_function] = {}
        self._schedule: _StageSchedule | None = None
        self._has_on_trace_ready = "on_trace_ready" in profiler_kwargs
        self._export_to_flame_graph = profiler_kwargs.get("export_to_flame_graph", False)
        self._metric = profiler_kwargs.get("metric", "self_cpu_time_total")
        if _KINETO:
            self._init_kineto()
        if self._sort_by_key not in self.AVAILABLE_SORT_KEYS:
            raise MisconfigurationException(
                f"Found sort_by_key: {self._sort_by_key}. Should be within "
                f"{self.AVAILABLE_SORT_KEYS}. "
            )
        self._check_table_kwargs()

    def _check_table_kwargs(self) -> None:
        valid = set(inspect.signature(EventList.table).parameters) - {
            "self",
            "sort_by",
            "row_limit",
        }
        for key in self._table_kwargs:
            if key in {"sort_by", "row_limit"}:
                raise KeyError(
                    f"Found invalid table_kwargs key: {key}. This is already a positional argument"
                    " of the Profiler."
                )
            if key not in valid:
                raise KeyError(f"Found invalid table_kwargs key: {key}. Should be within {valid}.")

    def _init_kineto(self) -> None:
        kwargs = self._profiler_kwargs
        schedule = kwargs.get("schedule", _DEFAULT_SCHEDULE)
        if "schedule" in kwargs and schedule is not None:
            if not callable(schedule):
                raise MisconfigurationException(f"Schedule should be a callable. Found: {schedule}")
            action = schedule(0)
            if not isinstance(action, ProfilerAction):
                raise MisconfigurationException(
                    f"Schedule should return a `torch.profiler.ProfilerAction`. Found: {action}"
                )
        self._schedule = _StageSchedule(schedule) if schedule is not None else None
        kwargs["schedule"] = self._schedule
        kwargs["activities"] = kwargs.get("activities") or _default_activities()
        kwargs["with_stack"] = kwargs.get("with_stack", False) or self._export_to_flame_graph

    # --- the steps the schedule counts -----------------------------------------------------------
    def _total_steps(self) -> float:
        """How many steps the current stage will take (to tell whether the schedule fits)."""
        assert self._schedule is not None and self._lightning_module is not None
        trainer: Any = self._lightning_module.trainer
        stage = self._schedule.stage
        if stage == "training":
            return float(trainer.num_training_batches)
        if stage == "validation":
            return float(sum(trainer.num_val_batches) + sum(trainer.num_sanity_val_batches))
        if stage == "test":
            return float(sum(trainer.num_test_batches))
        return float(sum(trainer.num_predict_batches))

    def _should_override_schedule(self) -> bool:
        return (
            self._lightning_module is not None
            and self._schedule is not None
            and self._schedule._schedule is _DEFAULT_SCHEDULE
            and self._total_steps() < 5
        )

    # --- actions ---------------------------------------------------------------------------------
    def start(self, action_name: str) -> None:
        if self.profiler is None:
            if torch.autograd._profiler_enabled():  # another profiler left running: close it
                torch.autograd._disable_profiler()
            if self._schedule is not None:
                self._schedule.first_action = action_name
            self._create_profilers()
            created: Any = self.profiler  # (set by _create_profilers)
            entered = created.__enter__()
            if entered is not None:
                self.profiler = entered
            if self._parent_profiler is not None:
                self._parent_profiler.__enter__()
        module = self._lightning_module
        if module is not None and self._register is None and self._record_module_names:
            self._register = RegisterRecordFunction(module)
            self._register.__enter__()
        if self.profiler is not None and action_name not in self._recording_map:
            recording = record_function("[pl][profile]" + action_name)
            recording.__enter__()
            self._recording_map[action_name] = recording

    def stop(self, action_name: str) -> None:
        recording = self._recording_map.pop(action_name, None)
        if recording is not None:
            recording.__exit__(None, None, None)
        if not _KINETO or self._emit_nvtx or self.profiler is None:
            return
        if not any(action_name.endswith(f) for f in self.STEP_FUNCTIONS):
            return
        if self._schedule is not None:
            self._schedule.pre_step(action_name)
        if self._should_override_schedule():
            rank_zero_warn(
                "The PyTorch Profiler default schedule will be overridden as there is not enough "
                "steps to properly record traces."
            )
            self._schedule = None
            self.profiler.schedule = torch.profiler.profiler._default_schedule_fn
        if not self._has_on_trace_ready:
            self.profiler.on_trace_ready = partial(self._export_trace, action_name)
        if self._schedule is not None:
            self.profiler.step_num = self._schedule.num_step
        self.profiler.step()
        self.profiler.add_metadata("Framework", "pytorch-lightning")

    def _export_trace(self, action_name: str, profiler: Any) -> None:
        if self.dirpath is None:
            rank_zero_warn("The PyTorchProfiler failed to export trace as `dirpath` is None")
            return
        folder = cloud_io.check_path(self.dirpath, "PyTorchProfiler(dirpath=...)")
        if not cloud_io.is_remote(folder):
            self._write_traces(action_name, profiler, folder)
            return
        with tempfile.TemporaryDirectory() as tmp:  # torch writes local files: then uploaded
            self._write_traces(action_name, profiler, tmp)
            for name in sorted(os.listdir(tmp)):
                with open(os.path.join(tmp, name), "rb") as file:
                    cloud_io.write_bytes(f"{folder.rstrip('/')}/{name}", file.read())

    def _write_traces(self, action_name: str, profiler: Any, folder: str) -> None:
        if self._export_to_chrome:
            name = self._prepare_filename(action_name=action_name, extension="")
            tensorboard_trace_handler(folder, name)(profiler)
        if self._export_to_flame_graph:
            name = self._prepare_filename(action_name=action_name, extension=".stack")
            profiler.export_stacks(os.path.join(folder, name), metric=self._metric)

    def summary(self) -> str:
        if not self._profiler_kwargs.get("enabled", True) or self._emit_nvtx:
            return ""
        self._delete_profilers()
        if not self.function_events:
            return ""
        if self._export_to_chrome and not _KINETO:
            name = f"{self.local_rank}_trace.json"
            path = name if self.dirpath is None else os.path.join(self.dirpath, name)
            self.function_events.export_chrome_trace(path)
        data = self.function_events.key_averages(group_by_input_shapes=self._group_by_input_shapes)
        table = data.table(
            sort_by=self._sort_by_key, row_limit=self._row_limit, **self._table_kwargs
        )
        return self._stats_to_str({"records": table})

    # --- the torch profilers ---------------------------------------------------------------------
    def _create_profilers(self) -> None:
        if self.profiler is not None:
            return
        if self._emit_nvtx and not torch.cuda.is_available():
            raise MisconfigurationException(
                "PyTorchProfiler(emit_nvtx=True) emits NVTX ranges for CUDA's nvprof, and CUDA is "
                "not available here: drop emit_nvtx=True to profile on the CPU."
            )
        if self._emit_nvtx:
            if self._parent_profiler is None:
                self._parent_profiler = torch.cuda.profiler.profile()
            self.profiler = self._create_profiler(torch.autograd.profiler.emit_nvtx)
        else:
            self._parent_profiler = None
            kind = torch.profiler.profile if _KINETO else torch.autograd.profiler.profile
            self.profiler = self._create_profiler(kind)

    def _create_profiler(self, kind: Any) -> Any:
        accepted = inspect.signature(kind.__init__).parameters
        return kind(**{k: v for k, v in self._profiler_kwargs.items() if k in accepted})

    def _cache_functions_events(self) -> None:
        if self._emit_nvtx:
            return
        if _KINETO:
            self.function_events = self.profiler.events()
        else:
            self.function_events = self.profiler.function_events

    def _delete_profilers(self) -> None:
        if self.profiler is not None:
            self.profiler.__exit__(None, None, None)
            self._cache_functions_events()
            self.profiler = None
        if self._schedule is not None:
            self._schedule.reset()
        if self._parent_profiler is not None:
            self._parent_profiler.__exit__(None, None, None)
            self._parent_profiler = None
        if self._register is not None:
            self._register.__exit__(None, None, None)
            self._register = None

    def teardown(self, stage: str | None) -> None:
        self._delete_profilers()
        for name in list(self._recording_map):
            self.stop(name)
        self._recording_map = {}
        super().teardown(stage=stage)


def _default_activities() -> list[ProfilerActivity]:
    if not _KINETO:
        return []
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    return activities


def _default_sort_by_key(profiler_kwargs: dict[str, Any]) -> str:
    activities = profiler_kwargs.get("activities") or []
    cuda = ProfilerActivity.CUDA in activities if activities else torch.cuda.is_available()
    return "cuda_time_total" if cuda or profiler_kwargs.get("use_cuda", False) else "cpu_time_total"
