"""The sample practical tasks: deterministic data, consistent ids and labels, starters that really run
and score what the task says, baselines that beat the trivial guess."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gennation.tournament.samples import practical
from gennation.tournament.samples.practical import CATEGORIES, KAZAKH_LETTERS, METRICS, build_all

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
# The generated files and the private split, without the baselines (numpy only: a quick subprocess).
DATA_DIGEST = (
    "import hashlib, json;"
    "from gennation.tournament.samples import practical as p;"
    "data = []\n"
    "for s in p.SPECS:\n"
    "    rng = p._rng(2026, s.number); files = p._split_files(s.make(rng))\n"
    "    data.append([files[0], files[1], files[2], p._private(rng, files[3])])\n"
    "print(hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest())"
)


@pytest.fixture(scope="module")
def tasks() -> list[practical.SampleTask]:
    return build_all()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def digest(tasks) -> str:
    payload = json.dumps([dataclasses.asdict(t) for t in tasks], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def test_one_task_per_category_with_every_metric(tasks):
    assert [t.category for t in tasks] == list(CATEGORIES)
    assert sorted(t.metric for t in tasks) == sorted(METRICS)
    assert len({t.slug for t in tasks}) == len(tasks)
    for task in tasks:
        assert set(task.title) == set(task.description) == {"kk", "ru"}
        assert (practical.STARTERS / task.starter).is_file(), task.starter
        if task.metric in ("accuracy", "macro_f1"):
            assert task.classes and task.value_range is None
        else:
            assert task.classes is None and task.value_range is not None
        if task.metric == "roc_auc":
            assert task.value_range == (0.0, 1.0)


def test_the_same_seed_gives_the_same_bytes(tasks):
    """A rebuild gives identical tasks; a fresh interpreter with another hash seed gives identical files and
    private split; another seed gives other data."""
    assert digest(practical._build_all.__wrapped__(2026)) == digest(tasks)
    result = subprocess.run([PYTHON, "-c", DATA_DIGEST], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert result.returncode == 0, result.stderr
    ours = [[t.train_csv, t.test_csv, t.labels, t.private_ids] for t in tasks]
    expected = hashlib.sha256(json.dumps(ours, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert result.stdout.strip() == expected
    for spec in practical.SPECS:
        other = practical._split_files(spec.make(practical._rng(7, spec.number)))
        task = next(t for t in tasks if t.slug == spec.slug)
        assert other[0] != task.train_csv or other[1] != task.test_csv


def test_files_ids_labels_and_the_private_split_fit_together(tasks):
    for task in tasks:
        train, test = rows(task.train_csv), rows(task.test_csv)
        assert 1000 <= len(train) <= 5000 and 500 <= len(test) <= 2000, task.slug
        header = task.train_csv.splitlines()[0].split(",")
        assert header[0] == task.id_column and header[-1] == task.target_column
        assert task.test_csv.splitlines()[0].split(",") == header[:-1]
        train_ids = [r[task.id_column] for r in train]
        test_ids = [r[task.id_column] for r in test]
        assert len(set(train_ids)) == len(train_ids) and len(set(test_ids)) == len(test_ids)
        assert not set(train_ids) & set(test_ids)
        assert set(task.labels) == set(test_ids)
        assert set(task.private_ids) <= set(test_ids) and len(set(task.private_ids)) == len(task.private_ids)
        assert abs(len(task.private_ids) / len(test_ids) - 0.6) < 0.01
        # the private rows are scattered over the test file, not a block at its start or end
        positions = [test_ids.index(i) for i in task.private_ids[:50]]
        assert positions != list(range(50))
        targets = [r[task.target_column] for r in train] + list(task.labels.values())
        if task.classes:
            assert set(targets) == set(task.classes)
        else:
            low, high = task.value_range
            assert all(low <= float(v) <= high for v in targets)
            assert all(isinstance(v, float) for v in task.labels.values())


def test_the_baseline_beats_the_trivial_guess_by_a_margin(tasks):
    for task in tasks:
        trivial = practical.trivial_score(task)
        if practical.HIGHER_IS_BETTER[task.metric]:
            assert task.baseline_score >= trivial + 0.05, (task.slug, task.baseline_score, trivial)
            assert task.baseline_score < 0.97, (task.slug, "no room left above the baseline")
        else:
            assert task.baseline_score <= 0.8 * trivial, (task.slug, task.baseline_score, trivial)


def test_each_starter_script_runs_alone_and_scores_the_baseline(tasks, tmp_path):
    running = []
    for task in tasks:
        folder = tmp_path / task.slug
        folder.mkdir()
        (folder / "train.csv").write_bytes(task.train_csv.encode("utf-8"))
        (folder / "test.csv").write_bytes(task.test_csv.encode("utf-8"))
        script = folder / task.starter
        script.write_bytes((practical.STARTERS / task.starter).read_bytes())
        process = subprocess.Popen([PYTHON, script.name], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env={**os.environ, "PYTHONPATH": ""})
        running.append((task, folder, process))
    for task, folder, process in running:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, (task.slug, stderr)
        text = (folder / "predictions.csv").read_bytes().decode("utf-8")
        assert text.splitlines()[0] == f"{task.id_column},{task.target_column}"
        submitted = rows(text)
        ids = [r[task.id_column] for r in submitted]
        assert sorted(ids) == sorted(task.labels), task.slug
        predictions = practical.read_predictions(task, text)
        if task.classes:
            assert set(predictions.values()) <= set(task.classes)
        else:
            low, high = task.value_range
            assert all(low <= v <= high for v in predictions.values()), task.slug
        scored = practical.score_predictions(task, predictions, task.private_ids)
        assert abs(scored - task.baseline_score) <= 1e-9, (task.slug, scored, task.baseline_score)


def test_kazakh_messages_are_written_with_kazakh_letters(tasks):
    spam = next(t for t in tasks if t.slug == "sms-spam")
    messages = rows(spam.train_csv) + rows(spam.test_csv)
    by_lang = {lang: [m["text"] for m in messages if m["lang"] == lang] for lang in ("kk", "ru", "mixed")}
    assert all(len(texts) > 100 for texts in by_lang.values())
    missing = [text for text in by_lang["kk"] if not set(text) & KAZAKH_LETTERS]
    assert not missing, missing[:5]
    assert sum(bool(set(text) & KAZAKH_LETTERS) for text in by_lang["ru"]) < 0.2 * len(by_lang["ru"])  # names only
    # varied, both classes in every language, masked numbers and reserved domains only
    assert len({m["text"] for m in messages}) > 0.4 * len(messages)
    labels = {m["id"]: m.get("label") or spam.labels[m["id"]] for m in messages}
    for lang in by_lang:
        assert {labels[m["id"]] for m in messages if m["lang"] == lang} == {"ham", "spam"}
    links = [word for m in messages for word in m["text"].split() if "://" in word]
    assert links and all(".example/" in link for link in links)
    phone_like = [run for m in messages for run in re.findall(r"[\d\s()+\-]{10,}", m["text"])
                  if sum(ch.isdigit() for ch in run) >= 10]
    assert not phone_like, phone_like[:3]
    assert any("[phone]" in m["text"] for m in messages)


def test_descriptions_explain_the_file_to_send_in_both_languages(tasks):
    for task in tasks:
        for lang, text in task.description.items():
            assert text.startswith(f"# {task.title[lang]}")
            assert f"{task.id_column},{task.target_column}" in text
            assert task.starter in text
            digits = {"mae": 3, "rmse": 1}.get(task.metric, 4)
            assert f"{task.baseline_score:.{digits}f}".replace(".", ",") in text
            for column in task.train_csv.splitlines()[0].split(","):
                assert f"`{column}`" in text, (task.slug, lang, column)
        assert set(task.description["kk"]) & KAZAKH_LETTERS


def test_the_readme_table_matches_the_built_tasks(tasks):
    readme = (practical.STARTERS.parent / "README.md").read_text(encoding="utf-8")
    for task in tasks:
        line = next(row for row in readme.splitlines() if f"| `{task.slug}` |" in row)
        digits = {"mae": 3, "rmse": 1}.get(task.metric, 4)
        assert f"**{task.baseline_score:.{digits}f}**" in line, (task.slug, line)
        assert f"| {practical.trivial_score(task):.{digits}f} (" in line, (task.slug, line)
        assert f"| {task.category} |" in line
