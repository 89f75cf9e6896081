"""augkit.mrz against the ICAO Doc 9303 specimens, and its own properties."""

from __future__ import annotations

import random

import pytest

from augkit import mrz

# The specimen zones printed in ICAO Doc 9303 (parts 4, 5 and 6).
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
SPECIMENS = {"TD1": TD1, "TD2": TD2, "TD3": TD3}
COMMON = dict(issuer="UTO", surname="Eriksson", given_names="Anna Maria", nationality="UTO",
              birth="740812", sex="F", expiry="120415")


@pytest.mark.parametrize("layout", ["TD1", "TD2", "TD3"])
def test_specimens_validate_and_identify(layout):
    lines = SPECIMENS[layout]
    assert mrz.layout_of(lines) == layout
    checks = mrz.check_document(lines)
    assert checks and all(checks.values()), checks
    assert [mrz.identify(line) for line in lines] == [(layout, i) for i in range(len(lines))]


def test_compose_reproduces_the_specimens():
    assert mrz.compose("TD3", document_code="P", number="L898902C3", optional1="ZE184226B", **COMMON) == TD3
    assert mrz.compose("TD2", document_code="I", number="D23145890", **COMMON) == TD2
    assert mrz.compose("TD1", document_code="I", number="D23145890", **COMMON) == TD1


def test_check_digit_weights_and_values():
    # 7-3-1 weights, A=10 ... Z=35, filler 0: worked by hand.
    assert mrz.check_digit("740812") == "2"  # 7*7+4*3+0*1+8*7+1*3+2*1 = 122
    assert mrz.check_digit("AB<") == str((10 * 7 + 11 * 3) % 10)
    assert mrz.check_digit("") == "0"
    with pytest.raises(ValueError, match="not an MRZ character"):
        mrz.check_digit("a")


def test_long_document_number_overflows_into_optional_data():
    # Doc 9303 part 5's example of a 12-character number on a TD1 card.
    line = "I<UTOD23145890<7349<<<<<<<<<<<"
    assert mrz.check_line(line, "TD1", 0) == {"number": True}
    lines = mrz.compose("TD1", document_code="I", number="D23145890734", **COMMON)
    assert lines[0] == line
    assert all(mrz.check_document(lines).values())
    lines = mrz.compose("TD2", document_code="I", number="D23145890734", **COMMON)
    assert lines[1][9] == "<" and all(mrz.check_document(lines).values())
    with pytest.raises(ValueError, match="TD3 cannot hold"):
        mrz.compose("TD3", document_code="P", number="D23145890734", **COMMON)


def test_every_single_character_error_in_a_checked_field_is_caught():
    """Each check digit covers its field: changing one digit of a date or number breaks it."""
    line = TD3[1]
    for pos in list(range(0, 9)) + list(range(13, 19)) + list(range(21, 27)):
        c = line[pos]
        wrong = "5" if c != "5" else "6"
        broken = line[:pos] + wrong + line[pos + 1:]
        checks = mrz.check_line(broken, "TD3", 1)
        assert not all(checks.values()), (pos, checks)
        assert checks["composite"] is False


def test_random_composed_zones_are_valid_and_fields_round_trip():
    rng = random.Random(7)
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(200):
        layout = rng.choice(list(mrz.LAYOUTS))
        number = "".join(rng.choice(alnum) for _ in range(rng.randint(6, 9 if layout == "TD3" else 14)))
        birth = f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        expiry = f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        lines = mrz.compose(layout, document_code=rng.choice(["P", "I", "A", "C"]), issuer="KOR",
                            surname="KIM", given_names="MIN JUN", number=number, nationality="KOR",
                            birth=birth, sex=rng.choice("MF<"), expiry=expiry)
        assert mrz.layout_of(lines) == layout
        assert all(mrz.check_document(lines).values()), lines
        assert [mrz.identify(x) for x in lines] == [(layout, i) for i in range(len(lines))]
        dob_line = 1
        fields = mrz.line_fields(lines[dob_line], layout, dob_line)
        assert fields["birth"] == birth and fields["expiry"] == expiry


def test_personal_number_filler_rule():
    lines = mrz.compose("TD3", document_code="P", number="L898902C3", **COMMON)
    assert lines[1][28:43] == "<" * 15
    assert mrz.check_line(lines[1], "TD3", 1)["optional"]
    zero = lines[1][:42] + "0" + lines[1][43:]
    assert mrz.check_line(zero, "TD3", 1)["optional"]


def test_line_fields_tolerate_misread_lengths():
    short = TD3[1][:40]
    fields = mrz.line_fields(short, "TD3", 1)
    assert fields["number"] == "L898902C3" and fields["composite_check"] == " "
    assert mrz.check_line(short, "TD3", 1)["composite"] is False


def test_identify_rejects_non_mrz_text():
    assert mrz.identify("27 SEP 1991") is None
    assert mrz.identify("P<UTOERIKSSON") is None
    assert mrz.identify("p<utoeriksson<<anna<maria<<<<<<<<<<<<<<<<<<<") is None


def test_bad_compose_input_is_refused_clearly():
    with pytest.raises(ValueError, match="YYMMDD"):
        mrz.compose("TD3", document_code="P", number="X1", **{**COMMON, "birth": "1974-08-12"})
    with pytest.raises(ValueError, match="sex"):
        mrz.compose("TD3", document_code="P", number="X1", **{**COMMON, "sex": "X"})
    with pytest.raises(ValueError, match="unknown MRZ layout"):
        mrz.compose("TD4", document_code="P", number="X1", **COMMON)
    with pytest.raises(ValueError, match="not a TD1"):
        mrz.check_document(["ABC"])
