"""One rich progress display for the whole run.

Why a module-level display: workloads keep the plain `run(size, workdir)` signature
and still show their phases; outside a display their progress calls do nothing.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

_display: Progress | None = None


@contextmanager
def display(console: Console) -> Iterator[Progress]:
    global _display
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as shown:
        _display = shown
        try:
            yield shown
        finally:
            _display = None


@contextmanager
def task(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress line for one phase; yields `advance(n)`."""
    shown = _display
    if shown is None:
        yield lambda n: None
        return
    task_id = shown.add_task(description, total=total)
    yield lambda n: shown.advance(task_id, n)
