"""Reading predictions files and scoring them (no database)."""
from __future__ import annotations

import pytest

from gennation.tournament import scoring

IDS = [f"r{n:03d}" for n in range(1, 11)]
LABELS = {i: ("yes" if n % 2 else "no") for n, i in enumerate(IDS)}
SPEC = scoring.Spec("id", "late", IDS, classes=["yes", "no"])


def csv_of(rows, header="id,late") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_a_good_file_gives_every_prediction():
    checked = scoring.check_predictions(csv_of(f"{i},{v}" for i, v in LABELS.items()), SPEC)
    assert checked.ok and checked.predictions == LABELS


def test_columns_may_come_in_any_order_and_a_bom_is_fine():
    data = b"\xef\xbb\xbf" + csv_of((f"{v},{i}" for i, v in LABELS.items()), header="late,id")
    assert scoring.check_predictions(data, SPEC).predictions == LABELS


@pytest.mark.parametrize("data, line, words", [
    (csv_of([], header="id,prediction"), 1, "columns"),
    ("id,late\nr001,да\n".encode("cp1251"), 0, "UTF-8"),
    (b"", 0, "empty"),
])
def test_a_file_that_cannot_be_read_names_why(data, line, words):
    checked = scoring.check_predictions(data, SPEC)
    assert not checked.ok and checked.problems[0].line == line and words in checked.problems[0].message


def test_each_bad_row_is_named_with_its_line():
    rows = [f"{i},{v}" for i, v in LABELS.items()][:8]
    rows[2] = "r003,maybe"  # line 4: not a class
    rows.append("r001,yes")  # line 10: repeated id
    rows.append("x999,no")  # line 11: unknown id
    rows.append("r010")  # line 12: one value
    checked = scoring.check_predictions(csv_of(rows), SPEC)
    found = {(p.line, p.message.split(":")[0].split(" has")[0]) for p in checked.problems}
    assert {p.line for p in checked.problems} >= {4, 10, 11, 12}
    missing = [p for p in checked.problems if p.line == 0]
    assert missing and missing[0].values["ids"] == "r009, r010", found  # r003 has a line, reported above


def test_numbers_are_checked_for_range_and_form():
    spec = scoring.Spec("id", "p", IDS, value_min=0, value_max=1)
    rows = [f"{i},0.5" for i in IDS]
    rows[0], rows[1], rows[2] = "r001,1.5", "r002,abc", "r003,nan"
    checked = scoring.check_predictions(csv_of(rows, header="id,p"), spec)
    assert [p.line for p in checked.problems] == [2, 3, 4]
    assert scoring.check_predictions(csv_of([f"{i},0,5" for i in IDS], header="id,p"), spec).problems  # 3 values


def test_no_problem_message_ever_holds_a_hidden_label():
    hidden = {i: f"secret-{n}" for n, i in enumerate(IDS)}
    spec = scoring.Spec("id", "late", IDS, classes=list(hidden.values()) + ["public"])
    spec.classes = ["public"]  # the participant is told the allowed classes, never the labels
    checked = scoring.check_predictions(csv_of(f"{i},wrong" for i in IDS), spec)
    text = " ".join(p.message % p.values if p.values else p.message for p in checked.problems)
    assert not any(label in text for label in hidden.values())


def test_too_large_a_file_is_refused_before_reading():
    spec = scoring.Spec("id", "late", IDS, classes=["yes", "no"], max_bytes=100)
    assert "too large" in scoring.check_predictions(b"x" * 101, spec).problems[0].message


def test_metrics_and_points_on_public_and_private_rows():
    private = IDS[5:]
    predictions = dict(LABELS)
    predictions["r001"] = "yes" if LABELS["r001"] == "no" else "no"  # one public row wrong
    result = scoring.score("accuracy", predictions, LABELS, private, None)
    assert (result.public, result.private) == (0.8, 1.0)
    assert (result.public_points, result.private_points) == (80.0, 100.0)


def test_error_metrics_give_points_against_the_mean_predictor():
    labels = {"a": 10.0, "b": 20.0, "c": 30.0, "d": 40.0}
    zero = scoring.zero_point_of("mae", [25.0, 25.0], labels)
    assert zero == 10.0
    perfect = scoring.score("mae", labels, labels, ["c", "d"], zero)
    assert perfect.private_points == 100.0
    mean_only = scoring.score("mae", {k: 25.0 for k in labels}, labels, ["c", "d"], zero)
    assert mean_only.private_points == 0.0 and mean_only.public == 10.0
    worse = scoring.score("rmse", {k: 100.0 for k in labels}, labels, ["c", "d"], zero)
    assert worse.public_points == 0.0  # never below zero


def test_roc_auc_uses_probabilities():
    labels = {"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.0}
    result = scoring.score("roc_auc", {"a": 0.9, "b": 0.1, "c": 0.8, "d": 0.3}, labels, ["c", "d", "a", "b"][:2], None)
    assert result.private == 1.0


def test_a_fingerprint_ignores_row_order_and_re_rounding_but_sees_changed_rows():
    values = {f"r{n:03d}": n / 7 for n in range(200)}
    rounded = {k: round(v, 4) for k, v in reversed(list(values.items()))}
    assert scoring.fingerprint(values) == scoring.fingerprint(rounded)
    changed = dict(values, r050=99.0, r150=-1.0)
    touched = {scoring._band("r050"), scoring._band("r150")}
    assert scoring.shared_share(scoring.fingerprint(values), scoring.fingerprint(changed)) == 1 - len(touched) / 64
    other = {k: v + 0.5 for k, v in values.items()}
    assert scoring.shared_share(scoring.fingerprint(values), scoring.fingerprint(other)) == 0.0


def test_with_labels_only_the_mistakes_make_the_fingerprint():
    labels = {f"b{n:03d}": "yes" if n % 2 else "no" for n in range(300)}
    flip = {"yes": "no", "no": "yes"}
    honest_one = {k: flip[v] if n % 10 == 0 else v for n, (k, v) in enumerate(labels.items())}  # 90 % right
    honest_two = {k: flip[v] if n % 10 == 5 else v for n, (k, v) in enumerate(labels.items())}  # other mistakes
    # Without labels two good models look alike (80 % of rows agree); by their mistakes they do not.
    assert scoring.shared_share(scoring.fingerprint(honest_one, labels), scoring.fingerprint(honest_two, labels)) == 0.0
    assert scoring.fingerprint(labels, labels) == [""] * 64  # no mistake, nothing to compare
    copy = dict(honest_one)
    assert scoring.shared_share(scoring.fingerprint(honest_one, labels), scoring.fingerprint(copy, labels)) == 1.0
