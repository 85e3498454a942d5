"""The app's session service, shared by the `rapport` CLI and the gradio app (neither typer nor gradio here)."""

from .learner import default_learner
from .practice import Practice, PracticeRun

__all__ = ["Practice", "PracticeRun", "default_learner"]
