"""Partial results for long evaluation runs: saved as they finish, resumed on a re-run.

Each run appends one JSON line per finished unit of work (a replayed turn, a simulated
dialogue) to a JSONL file next to its ``--json`` output. The first line is a header with a
fingerprint of the run's configuration; a re-run with the same configuration skips the
units already done, a re-run with a different configuration moves the old file aside (it is
never deleted) and starts afresh. A torn last line from an interrupted write is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from crsagent.agent.errors import DataError

__all__ = ["PartialResults", "fingerprint", "partial_path_for"]


def fingerprint(config: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-serialisable configuration."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def partial_path_for(json_path: Path | str) -> Path:
    """Where the partial results of a run writing ``json_path`` live (``<stem>.partial.jsonl``)."""
    p = Path(json_path)
    return p.with_name(p.stem + ".partial.jsonl")


class PartialResults:
    """An append-only, resumable record of finished work units.

    Args:
        path: the JSONL file.
        config: the run's configuration; its fingerprint decides whether old results count.

    Example:
        >>> with PartialResults(path, {"variant": "crs-only"}) as partial:  # doctest: +SKIP
        ...     done = partial.done
        ...     for key in todo:
        ...         if key not in done:
        ...             partial.append(key, {"hit": 1})
    """

    def __init__(self, path: Path | str, config: Mapping[str, Any]):
        self.path = Path(path)
        self.config = dict(config)
        self.fingerprint = fingerprint(self.config)
        self.done: dict[str, dict[str, Any]] = {}
        self.moved_aside: Path | None = None
        self._fh: IO[str] | None = None

    def open(self) -> PartialResults:
        """Load earlier results with the same fingerprint and open the file for appending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            header, records = self._read()
            if header is not None and header.get("fingerprint") == self.fingerprint:
                self.done = records
                self._drop_torn_tail()
            else:
                aside = self.path.with_name(f"{self.path.stem}.stale-{int(time.time())}{self.path.suffix}")
                os.replace(self.path, aside)
                self.moved_aside = aside
        fresh = not self.path.exists()
        self._fh = self.path.open("a", encoding="utf-8")
        if fresh:
            self._write({"_header": {"fingerprint": self.fingerprint, "config": self.config}})
        return self

    def _read(self) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        header: dict[str, Any] | None = None
        records: dict[str, dict[str, Any]] = {}
        with self.path.open(encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                if i >= len(lines) - 2:  # a torn last line from an interrupted write
                    break
                raise DataError(f"line {i + 1} of partial results is corrupt: {exc}", self.path) from exc
            if "_header" in obj:
                header = obj["_header"]
            elif "key" in obj and "record" in obj:
                records[str(obj["key"])] = obj["record"]
        return header, records

    def _drop_torn_tail(self) -> None:
        """Cut an unterminated last line so the next append starts on a fresh line."""
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def _write(self, obj: Mapping[str, Any]) -> None:
        assert self._fh is not None, "PartialResults used before open()"
        self._fh.write(json.dumps(obj, default=float) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, key: str, record: Mapping[str, Any]) -> None:
        """Save one finished unit (flushed to disk before returning)."""
        self._write({"key": key, "record": dict(record)})
        self.done[key] = dict(record)

    def close(self) -> None:
        """Close the file (results stay on disk)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> PartialResults:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
