"""Files the platform keeps under var/ (certificate PDFs, tournament data and entries)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Written under another name and moved into place: a reader never sees half a file, and two
    writers of the same bytes leave one whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
        part.write(data)
    os.replace(part.name, path)
