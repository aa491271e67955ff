"""Progress reporting for ingestion: a no-op default and rich bars for terminals."""

from __future__ import annotations


class NullProgress:
    """Reports nothing (JSON mode, tests, the UI uses its own)."""

    def start(self, files: int) -> None: ...

    def file_done(self) -> None: ...

    def add_chunks(self, n: int) -> None: ...

    def chunks_done(self, n: int) -> None: ...

    def close(self) -> None: ...


Progress = NullProgress  # the interface: subclass and override what you need


class RichProgress(NullProgress):
    """Two bars on stderr, files and chunks, each with an ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bars = Progress(
            TextColumn("{task.description:<7}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._files = self._bars.add_task("files", total=None)
        self._chunks = self._bars.add_task("chunks", total=0)
        self._bars.start()

    def start(self, files: int) -> None:
        self._bars.update(self._files, total=files)

    def file_done(self) -> None:
        self._bars.advance(self._files)

    def add_chunks(self, n: int) -> None:
        task = self._bars.tasks[self._chunks]
        self._bars.update(self._chunks, total=(task.total or 0) + n)

    def chunks_done(self, n: int) -> None:
        self._bars.advance(self._chunks, n)

    def close(self) -> None:
        self._bars.stop()
