"""A rich progress bar on stderr: items done, items per second, time left."""
from contextlib import contextmanager

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

from .console import err


class RateColumn(ProgressColumn):
    def __init__(self, unit: str = ""):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        unit = task.fields.get("unit", self.unit)
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.2f} {unit}/s" if speed else f"– {unit}/s", style="cyan")


def bars(unit: str = "") -> Progress:
    """A rich Progress on stderr; each task may name its own unit (`unit=` field)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(unit), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err, transient=False)


@contextmanager
def progress_bar(description: str, unit: str):
    """Yields (start(total), advance()) callables."""
    with bars(unit) as bar:
        task = bar.add_task(description, total=None)

        def start(total: int) -> None:
            bar.update(task, total=total)

        def advance(*_) -> None:
            bar.advance(task)

        yield start, advance
