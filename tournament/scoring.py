"""Reading a predictions file and scoring it: no database, no HTTP.

`check_predictions` is run when an entry arrives, before it is queued: every problem is named with its
line (and id), and no message ever contains a hidden label. `score` computes the metric with
scikit-learn on the public and on the private rows.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from sklearn import metrics as sk

from gennation.platform.i18n import N_

HIGHER_IS_BETTER = {"accuracy", "macro_f1", "roc_auc"}
MAX_REPORTED = 20  # problems listed per file; the count says how many more there are


@dataclass
class Problem:
    line: int  # 1 = the header; 0 = the file as a whole
    message: str  # message id
    values: dict = field(default_factory=dict)


@dataclass
class Spec:
    """What a predictions file for one task must hold (taken from the Task row)."""

    id_column: str
    target_column: str
    ids: list[str]  # every test id, in the test file's order
    classes: list[str] | None = None
    value_min: float | None = None
    value_max: float | None = None
    max_bytes: int = 512 * 1024


@dataclass
class Checked:
    predictions: dict[str, str | float]
    problems: list[Problem]
    more: int = 0  # problems beyond the ones listed

    @property
    def ok(self) -> bool:
        return not self.problems


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def check_predictions(data: bytes, spec: Spec) -> Checked:
    """The predictions of a file, or the problems that keep it from being scored."""
    problems: list[Problem] = []
    if len(data) > spec.max_bytes:
        return Checked({}, [Problem(0, N_("The file is too large: at most %(limit)s KB."),
                                    {"limit": spec.max_bytes // 1024})])
    text = _decode(data)
    if text is None:
        return Checked({}, [Problem(0, N_("The file is not in UTF-8. Save it as CSV UTF-8 and send it again."))])
    if not text.strip():
        return Checked({}, [Problem(0, N_("The file is empty."))])
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    wanted = [spec.id_column, spec.target_column]
    if sorted(header) != sorted(wanted):
        return Checked({}, [Problem(1, N_("The first line must name exactly the columns %(columns)s (it names %(found)s)."),
                                    {"columns": ", ".join(wanted), "found": ", ".join(header) or "-"})])
    id_at, value_at = header.index(spec.id_column), header.index(spec.target_column)
    known = set(spec.ids)
    allowed = set(spec.classes) if spec.classes is not None else None
    predictions: dict[str, str | float] = {}
    first_line: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            problems.append(Problem(line, N_("Line %(line)s has %(count)s values instead of 2."),
                                    {"line": line, "count": len(row)}))
            continue
        row_id, value = row[id_at].strip(), row[value_at].strip()
        shown_id = row_id[:40]  # the participant's own text, cut short
        if not row_id:
            problems.append(Problem(line, N_("Line %(line)s has no id."), {"line": line}))
            continue
        if row_id not in known:
            problems.append(Problem(line, N_("Line %(line)s: the id %(id)s is not in the test file."),
                                    {"line": line, "id": shown_id}))
            continue
        if row_id in first_line:
            problems.append(Problem(line, N_("Line %(line)s: the id %(id)s is already on line %(first)s."),
                                    {"line": line, "id": shown_id, "first": first_line[row_id]}))
            continue
        first_line[row_id] = line
        if value == "":
            problems.append(Problem(line, N_("Line %(line)s: the prediction for %(id)s is missing."),
                                    {"line": line, "id": shown_id}))
            continue
        if allowed is not None:
            if value not in allowed:
                problems.append(Problem(line, N_("Line %(line)s: %(value)s is not one of the classes %(classes)s."),
                                        {"line": line, "value": value[:40], "classes": ", ".join(spec.classes)}))
                continue
            predictions[row_id] = value
            continue
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            problems.append(Problem(line, N_("Line %(line)s: %(value)s is not a number."),
                                    {"line": line, "value": value[:40]}))
            continue
        low = spec.value_min if spec.value_min is not None else -math.inf
        high = spec.value_max if spec.value_max is not None else math.inf
        if not low <= number <= high:
            problems.append(Problem(line, N_("Line %(line)s: %(value)s is outside the allowed range %(low)s to %(high)s."),
                                    {"line": line, "value": value[:40], "low": _number(low), "high": _number(high)}))
            continue
        predictions[row_id] = number
    missing = [i for i in spec.ids if i not in first_line]
    if missing:
        problems.append(Problem(0, N_("%(count)s test ids have no prediction, for example %(ids)s. The file needs one line per test id (%(total)s)."),
                                {"count": len(missing), "ids": ", ".join(missing[:5]), "total": len(spec.ids)}))
    more = max(0, len(problems) - MAX_REPORTED)
    return Checked(predictions, problems[:MAX_REPORTED], more)


def _number(value: float) -> str:
    return f"{value:g}"


def _encoded(truth: list, predicted: list) -> tuple[np.ndarray, np.ndarray]:
    """Class labels as integer codes (the same code for the same label): scikit-learn's checks on
    arrays of numbers are several times faster than on lists of strings, and the metric is the same."""
    codes: dict[str, int] = {}
    encode = lambda values: np.fromiter((codes.setdefault(v, len(codes)) for v in values), dtype=np.int64)  # noqa: E731
    return encode(truth), encode(predicted)


def metric_value(metric: str, truth: list, predicted: list) -> float:
    if metric in ("accuracy", "macro_f1"):
        truth, predicted = _encoded(truth, predicted)
    else:
        truth, predicted = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)
    if metric == "accuracy":
        return float(sk.accuracy_score(truth, predicted))
    if metric == "macro_f1":
        return float(sk.f1_score(truth, predicted, average="macro"))
    if metric == "mae":
        return float(sk.mean_absolute_error(truth, predicted))
    if metric == "rmse":
        return float(sk.root_mean_squared_error(truth, predicted))
    if metric == "roc_auc":
        return float(sk.roc_auc_score(truth, predicted))
    raise ValueError(f"unknown metric {metric}")


def points(metric: str, value: float, zero_point: float | None) -> float:
    """0-100 points for a metric value: a percentage, or for an error metric the share of the
    zero-point error (always predicting the training mean) that the entry removes."""
    if metric in HIGHER_IS_BETTER:
        return round(100 * max(0.0, min(1.0, value)), 4)
    if not zero_point:
        return 0.0
    return round(100 * max(0.0, 1 - value / zero_point), 4)


def _truth(metric: str, labels: dict, ids: list[str]) -> list:
    if metric == "roc_auc":
        return [int(float(labels[i])) for i in ids]
    if metric in ("mae", "rmse"):
        return [float(labels[i]) for i in ids]
    return [str(labels[i]) for i in ids]


@dataclass
class Score:
    public: float
    private: float
    public_points: float
    private_points: float


def score(metric: str, predictions: dict, labels: dict, private_ids: list[str], zero_point: float | None) -> Score:
    private = set(private_ids)
    public_ids = [i for i in labels if i not in private]
    private_list = [i for i in labels if i in private]
    values = []
    for ids in (public_ids, private_list):
        values.append(metric_value(metric, _truth(metric, labels, ids), [predictions[i] for i in ids]) if ids else 0.0)
    return Score(round(values[0], 6), round(values[1], 6),
                 points(metric, values[0], zero_point), points(metric, values[1], zero_point))


def zero_point_of(metric: str, train_targets: list[float], labels: dict) -> float | None:
    """The error of predicting the training mean for every test row (error metrics only)."""
    if metric in HIGHER_IS_BETTER or not train_targets:
        return None
    mean = sum(train_targets) / len(train_targets)
    ids = list(labels)
    return metric_value(metric, _truth(metric, labels, ids), [mean] * len(ids)) or None


# ---------------------------------------------------------------- near-identical files

BANDS = 64  # a file's fingerprint: its rows in this many bands (by a hash of the id), one digest each


def _normal(value: str | float) -> str:
    """A value as two files that copy each other would write it: labels as they are, numbers to three
    significant digits (so re-rounding or re-formatting a copied file does not hide it)."""
    if isinstance(value, str):
        return value.strip()
    return f"{float(value):.3g}"


def _band(row_id: str) -> int:
    return zlib.crc32(row_id.encode()) % BANDS


def fingerprint(predictions: dict[str, str | float], labels: dict[str, str] | None = None) -> list[str]:
    """One short digest per band of rows ("" for a band with nothing in it). With `labels` (the classes of a
    classification task) only the wrong predictions count: two honest good models share most right answers
    but few mistakes, while a copy shares its mistakes. Files that share nearly every digest are
    near-identical (see `shared_share`)."""
    bands: list[list[str]] = [[] for _ in range(BANDS)]
    for row_id in sorted(predictions):
        value = _normal(predictions[row_id])
        if labels is None or value != _normal(labels.get(row_id, "")):
            bands[_band(row_id)].append(f"{row_id}\t{value}")
    return [hashlib.blake2b("\n".join(rows).encode(), digest_size=5).hexdigest() if rows else "" for rows in bands]


def shared_share(one: list[str], other: list[str]) -> float:
    """The share of the bands holding something in either fingerprint on which the two agree."""
    used = [(a, b) for a, b in zip(one, other) if a or b]
    if not used or len(one) != len(other):
        return 0.0
    return sum(a == b for a, b in used) / len(used)
