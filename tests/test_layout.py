"""The repository layout must never shadow the standard library's `platform` module."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_from_root(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_stdlib_platform_is_not_shadowed_from_the_repository_root():
    result = run_from_root("import platform; print(platform.system()); print(platform.__file__)")
    assert result.returncode == 0, result.stderr
    system, location = result.stdout.split()
    assert system == "Linux"
    assert not location.startswith(str(ROOT)), location


def test_app_imports_from_the_repository_root_next_to_uvicorn_and_celery():
    result = run_from_root(
        "import uvicorn, celery, platform; platform.system();"
        "from gennation.platform.app import create_app; print(create_app.__module__)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "gennation.platform.app"
