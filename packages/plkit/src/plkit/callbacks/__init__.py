"""Built-in callbacks (Lightning 2.x names), and the ``Callback`` base class to write your own.

::

    from plkit.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint

    trainer = Trainer(callbacks=[ModelCheckpoint(monitor="val_loss"), EarlyStopping("val_loss")])
"""

from typing import TYPE_CHECKING

from plcore.callback import Callback
from plcore.utilities.lazy import lazy_exports

# Each callback's module is imported when the name is first read (``from plkit.callbacks import
# X``, ``pl.callbacks.X``), so ``import plkit`` pays for none of them; the Trainer reads the
# defaults it builds (ModelCheckpoint, ModelSummary, the progress bar) when it is constructed.
_LAZY = {
    "BatchSizeFinder": "plkit.callbacks.batch_size_finder",
    "EarlyStopping": "plkit.callbacks.early_stopping",
    "BackboneFinetuning": "plkit.callbacks.finetuning",
    "BaseFinetuning": "plkit.callbacks.finetuning",
    "NonFiniteLossCheck": "plkit.callbacks.finite_loss",
    "NonFiniteLossError": "plkit.callbacks.finite_loss",
    "LearningRateFinder": "plkit.callbacks.lr_finder",
    "LearningRateMonitor": "plkit.callbacks.lr_monitor",
    "ModelCheckpoint": "plkit.callbacks.model_checkpoint",
    "ModelSummary": "plkit.callbacks.model_summary",
    "ModelPruning": "plkit.callbacks.pruning",
    "StochasticWeightAveraging": "plkit.callbacks.stochastic_weight_avg",
    "Timer": "plkit.callbacks.timer",
    "EMAWeightAveraging": "plkit.callbacks.weight_averaging",
    "WeightAveraging": "plkit.callbacks.weight_averaging",
    "ProgressBar": "pllog.progress.base",
    "TQDMProgressBar": "pllog.progress.tqdm",
    # --- issue 18 item 4 part A: writers, schedules, monitors, rich (cbA) ---
    "Checkpoint": "plkit.callbacks.checkpoint",
    "DeviceStatsMonitor": "plkit.callbacks.device_stats_monitor",
    "GradientAccumulationScheduler": "plkit.callbacks.gradient_accumulation_scheduler",
    "LambdaCallback": "plkit.callbacks.lambda_function",
    "OnExceptionCheckpoint": "plkit.callbacks.on_exception_checkpoint",
    "BasePredictionWriter": "plkit.callbacks.prediction_writer",
    "RichModelSummary": "plkit.callbacks.rich_model_summary",
    "RichProgressBar": "pllog.progress.rich",
    "RichProgressBarTheme": "pllog.progress.rich",
    # --- end cbA ---
}

if TYPE_CHECKING:  # type checkers and IDEs see plain imports
    from plkit.callbacks.batch_size_finder import BatchSizeFinder
    from plkit.callbacks.early_stopping import EarlyStopping
    from plkit.callbacks.finetuning import BackboneFinetuning, BaseFinetuning
    from plkit.callbacks.finite_loss import NonFiniteLossCheck, NonFiniteLossError
    from plkit.callbacks.lr_finder import LearningRateFinder
    from plkit.callbacks.lr_monitor import LearningRateMonitor
    from plkit.callbacks.model_checkpoint import ModelCheckpoint
    from plkit.callbacks.model_summary import ModelSummary
    from plkit.callbacks.pruning import ModelPruning
    from plkit.callbacks.stochastic_weight_avg import StochasticWeightAveraging
    from plkit.callbacks.timer import Timer
    from plkit.callbacks.weight_averaging import EMAWeightAveraging, WeightAveraging
    from pllog import ProgressBar, TQDMProgressBar

    # isort: split
    # --- issue 18 item 4 part A: writers, schedules, monitors, rich (cbA) ---
    from plkit.callbacks.checkpoint import Checkpoint
    from plkit.callbacks.device_stats_monitor import DeviceStatsMonitor
    from plkit.callbacks.gradient_accumulation_scheduler import GradientAccumulationScheduler
    from plkit.callbacks.lambda_function import LambdaCallback
    from plkit.callbacks.on_exception_checkpoint import OnExceptionCheckpoint
    from plkit.callbacks.prediction_writer import BasePredictionWriter
    from plkit.callbacks.rich_model_summary import RichModelSummary
    from pllog import RichProgressBar, RichProgressBarTheme

    # --- end cbA ---

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "BatchSizeFinder",
    "Callback",
    "EarlyStopping",
    "LearningRateFinder",
    "LearningRateMonitor",
    "ModelCheckpoint",
    "ModelSummary",
    "NonFiniteLossCheck",
    "NonFiniteLossError",
    "ProgressBar",
    "TQDMProgressBar",
    "Timer",
    # weight averaging, finetuning, pruning (issue 18, item 4 B)
    "BackboneFinetuning",
    "BaseFinetuning",
    "EMAWeightAveraging",
    "ModelPruning",
    "StochasticWeightAveraging",
    "WeightAveraging",
    # --- cbA ---
    "BasePredictionWriter",
    "Checkpoint",
    "DeviceStatsMonitor",
    "GradientAccumulationScheduler",
    "LambdaCallback",
    "OnExceptionCheckpoint",
    "RichModelSummary",
    "RichProgressBar",
    "RichProgressBarTheme",
    # --- end cbA ---
]
