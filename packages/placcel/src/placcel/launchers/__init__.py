"""Launchers: re-run the script per local rank (``ddp``) or spawn workers (``ddp_spawn``)."""

from placcel.launchers.launcher import Launcher
from placcel.launchers.multiprocessing import MultiProcessingLauncher
from placcel.launchers.subprocess_script import SubprocessScriptLauncher

__all__ = ["Launcher", "MultiProcessingLauncher", "SubprocessScriptLauncher"]
