"""The app's tabs, declared one way: a `TabSpec` names a tab and its builder; every builder returns `TabParts`.

Adding a tab: a module with `def my_tab(...) -> TabParts` (its components and handlers), and one `TabSpec` line in
`app.TABS`. The app opens the `gr.Tab`, calls the builder inside it, and wires `on_select` when the tab is opened;
a tab with `shown_to` starts hidden and is shown when the page loads for a user whose role it accepts (its handlers
must still check who asks: hiding a tab does not hide its HTTP API).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import gradio as gr

from simulator.roles import UserRole

from .context import AppContext


@dataclass(frozen=True)
class AppStates:
    """Per-browser state shared by the tabs (made once by `build_app`)."""

    library_version: gr.State  # bumped when the studio saves, so the gallery re-renders
    model_choice: gr.State  # this browser's persona model, from Settings (None: the default)
    judge_choice: gr.State  # this browser's judge, from Settings (None: the default)


@dataclass(frozen=True)
class TabParts:
    """What every tab builder returns."""

    tab: Any = None  # the gr.Tab itself (set by `build_tab`)
    on_select: Callable | None = None  # refreshes the tab for whoever opens it (e.g. their own sessions)
    select_inputs: Sequence = ()  # the components `on_select` reads (none: it takes only the request)
    select_outputs: Sequence = ()  # the components `on_select` updates
    shared: Mapping[str, Any] = field(default_factory=dict)  # components and handlers other tabs wire to, by name


@dataclass(frozen=True)
class TabSpec:
    """One tab: its id (also `elem_id="tab-<id>"`), its label, and how to build its contents."""

    id: str
    label: str
    build: Callable[[AppContext, AppStates], TabParts]
    shown_to: Callable[[UserRole], bool] | None = None  # None: everyone; else shown only to roles it accepts


def build_tab(spec: TabSpec, ctx: AppContext, states: AppStates) -> TabParts:
    """Open the tab, build its contents inside it, and refresh them whenever it is selected."""
    with gr.Tab(spec.label, id=spec.id, elem_id=f"tab-{spec.id}", visible=spec.shown_to is None) as tab:
        parts = spec.build(ctx, states)
    if not isinstance(parts, TabParts):  # a builder that forgot: fail when the app is built, not on a click
        raise TypeError(f"the {spec.id!r} tab builder returned {type(parts).__name__}, not TabParts")
    if parts.on_select is not None:
        tab.select(parts.on_select, list(parts.select_inputs) or None, list(parts.select_outputs))
    return replace(parts, tab=tab)
