"""Machine-readable zones (ICAO Doc 9303): check digits, line layouts and field positions.

One module serves both `augkit synth` (composing valid lines) and `augkit eval --mrz` (scoring
check-digit validity and per-field accuracy). Positions below are 0-based slices of a line.

Layouts: TD3 (passports, 2 lines of 44), TD2 (2 lines of 36), TD1 (ID cards, 3 lines of 30).
Document numbers longer than 9 characters (TD1, TD2) overflow into the optional data: the
number's own check-digit position then holds `<`, and the optional data holds the rest of the
number followed by its check digit (Doc 9303 part 5 and 6, "long document numbers").
"""

from __future__ import annotations

import re
LAYOUTS: dict[str, tuple[int, int]] = {"TD1": (3, 30), "TD2": (2, 36), "TD3": (2, 44)}
"""Layout name -> (lines, characters per line)."""

_VALID = re.compile(r"[0-9A-Z<]*")


def char_value(c: str) -> int:
    """A character's check-digit value: digits as themselves, A-Z as 10-35, the filler `<` as 0."""
    if "0" <= c <= "9":
        return ord(c) - 48
    if "A" <= c <= "Z":
        return ord(c) - 55
    if c == "<":
        return 0
    raise ValueError(f"{c!r} is not an MRZ character (0-9, A-Z, <)")


_VALUES = {c: char_value(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"}


def check_digit(chars: str) -> str:
    """The ICAO 9303 check digit of `chars`: weights 7, 3, 1 repeating, sum modulo 10."""
    try:
        values = [_VALUES[c] for c in chars]
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not an MRZ character (0-9, A-Z, <)") from None
    return str((7 * sum(values[0::3]) + 3 * sum(values[1::3]) + sum(values[2::3])) % 10)


def is_mrz_text(line: str) -> bool:
    """True when `line` holds only MRZ characters (0-9, A-Z, <)."""
    return _VALID.fullmatch(line) is not None


# ---- field positions -------------------------------------------------------------------------

# (layout, line index) -> ordered field name -> slice. Check digits are fields of their own.
_FIELDS: dict[tuple[str, int], dict[str, slice]] = {
    ("TD3", 0): {"document_code": slice(0, 2), "issuer": slice(2, 5), "name": slice(5, 44)},
    ("TD3", 1): {"number": slice(0, 9), "number_check": slice(9, 10), "nationality": slice(10, 13),
                 "birth": slice(13, 19), "birth_check": slice(19, 20), "sex": slice(20, 21),
                 "expiry": slice(21, 27), "expiry_check": slice(27, 28), "optional": slice(28, 42),
                 "optional_check": slice(42, 43), "composite_check": slice(43, 44)},
    ("TD2", 0): {"document_code": slice(0, 2), "issuer": slice(2, 5), "name": slice(5, 36)},
    ("TD2", 1): {"number": slice(0, 9), "number_check": slice(9, 10), "nationality": slice(10, 13),
                 "birth": slice(13, 19), "birth_check": slice(19, 20), "sex": slice(20, 21),
                 "expiry": slice(21, 27), "expiry_check": slice(27, 28), "optional": slice(28, 35),
                 "composite_check": slice(35, 36)},
    ("TD1", 0): {"document_code": slice(0, 2), "issuer": slice(2, 5), "number": slice(5, 14),
                 "number_check": slice(14, 15), "optional": slice(15, 30)},
    ("TD1", 1): {"birth": slice(0, 6), "birth_check": slice(6, 7), "sex": slice(7, 8),
                 "expiry": slice(8, 14), "expiry_check": slice(14, 15), "nationality": slice(15, 18),
                 "optional2": slice(18, 29), "composite_check": slice(29, 30)},
    ("TD1", 2): {"name": slice(0, 30)},
}

# The characters each composite check digit covers: (line index, slice) pieces in order.
_COMPOSITE: dict[str, tuple[tuple[int, slice], ...]] = {
    "TD3": ((1, slice(0, 10)), (1, slice(13, 20)), (1, slice(21, 43))),
    "TD2": ((1, slice(0, 10)), (1, slice(13, 20)), (1, slice(21, 35))),
    "TD1": ((0, slice(5, 30)), (1, slice(0, 7)), (1, slice(8, 15)), (1, slice(18, 29))),
}


def line_fields(line: str, layout: str, index: int) -> dict[str, str]:
    """Field name -> characters of line `index` (0-based) of `layout`. A line of the wrong
    length (a misread, say) is padded with spaces or cut, so fields stay comparable."""
    try:
        fields = _FIELDS[(layout, index)]
    except KeyError:
        raise ValueError(f"no line {index} in MRZ layout {layout!r}; layouts: {', '.join(LAYOUTS)}") from None
    width = LAYOUTS[layout][1]
    fitted = line[:width].ljust(width)
    return {name: fitted[s] for name, s in fields.items()}


def field_names(layout: str, index: int) -> list[str]:
    """The field names of line `index` of `layout`, in order."""
    return list(_FIELDS[(layout, index)])


# ---- identifying a single line ---------------------------------------------------------------


def _digits(s: str) -> bool:
    return len(s) > 0 and s.isascii() and s.isdigit()


def identify(line: str) -> tuple[str, int] | None:
    """(layout, 0-based line index) of one MRZ line judged by its length and structure, or None
    when it is not an MRZ line. Eval crops are single lines, so this is how a line's fields are
    found."""
    if not is_mrz_text(line):
        return None
    for layout, (_, width) in LAYOUTS.items():
        if len(line) != width:
            continue
        if layout == "TD1":
            if _digits(line[0:7]) and _digits(line[8:15]):
                return layout, 1
            if line[0].isalpha() and any(c.isdigit() for c in line):
                return layout, 0
            return layout, 2
        # TD2 and TD3: the second line carries dates and check digits at fixed places.
        if _digits(line[13:20]) and _digits(line[21:28]):
            return layout, 1
        if line[0].isalpha() and not any(c.isdigit() for c in line):
            return layout, 0
        return None
    return None


# ---- checking --------------------------------------------------------------------------------


def _check(data: str, digit: str, *, filler_ok: bool = False) -> bool:
    if filler_ok and set(data) <= {"<"} and digit in ("<", "0"):
        return True
    try:
        return check_digit(data) == digit
    except ValueError:
        return False


def _long_number(head: str, head_check: str, optional: str) -> tuple[str, str] | None:
    """A document number overflowing into the optional data: (number, its check digit), or None
    when the number fits in its own field."""
    if head_check != "<" or not optional or optional[0] == "<":
        return None
    tail = optional.split("<", 1)[0]
    if len(tail) < 2:
        return None
    return head + tail[:-1], tail[-1]


def check_line(line: str, layout: str, index: int) -> dict[str, bool]:
    """Check-digit name -> valid, for every check digit line `index` holds on its own (the TD1
    composite spans two lines: see `check_document`). Lines with no check digit give {}."""
    f = line_fields(line, layout, index)
    out: dict[str, bool] = {}
    has_number = (layout in ("TD2", "TD3") and index == 1) or (layout == "TD1" and index == 0)
    if has_number:
        overflow = _long_number(f["number"], f["number_check"], f["optional"]) if layout != "TD3" else None
        if overflow:
            out["number"] = _check(*overflow)
        else:
            out["number"] = _check(f["number"], f["number_check"])
    if "birth" in f:
        out["birth"] = _check(f["birth"], f["birth_check"])
        out["expiry"] = _check(f["expiry"], f["expiry_check"])
    if layout == "TD3" and index == 1:
        out["optional"] = _check(f["optional"], f["optional_check"], filler_ok=True)
    if layout in ("TD2", "TD3") and index == 1:
        out["composite"] = _check(_composite_data(layout, ["", line]), f["composite_check"])
    return out


def _composite_data(layout: str, lines: list[str]) -> str:
    width = LAYOUTS[layout][1]
    return "".join(lines[i][:width].ljust(width)[s] for i, s in _COMPOSITE[layout])


def layout_of(lines: list[str]) -> str | None:
    """The layout a whole MRZ (its lines in order) has, by line count and length, or None."""
    for layout, (n, width) in LAYOUTS.items():
        if len(lines) == n and all(len(x) == width for x in lines):
            return layout
    return None


def check_document(lines: list[str]) -> dict[str, bool]:
    """Check-digit name -> valid for a whole MRZ, the composite included. Raises ValueError when
    the lines are not a TD1, TD2 or TD3 zone."""
    layout = layout_of(lines)
    if layout is None:
        shape = ", ".join(str(len(x)) for x in lines)
        raise ValueError(f"{len(lines)} lines of lengths {shape} are not a TD1 (3x30), TD2 (2x36) or TD3 (2x44) zone")
    out: dict[str, bool] = {}
    for i, line in enumerate(lines):
        out.update(check_line(line, layout, i))
    if layout == "TD1":
        out["composite"] = _check(_composite_data(layout, lines), lines[1][29])
    return out


def is_valid(lines: list[str]) -> bool:
    """True when every check digit of the zone is right."""
    return all(check_document(lines).values())


# ---- composing -------------------------------------------------------------------------------


def _pad(text: str, width: int, what: str, *, cut: bool = False) -> str:
    text = text.upper().replace(" ", "<")
    if not is_mrz_text(text):
        raise ValueError(f"{what} {text!r} holds characters other than 0-9, A-Z and <")
    if len(text) > width:
        if not cut:
            raise ValueError(f"{what} {text!r} is longer than its {width} positions")
        text = text[:width]
    return text.ljust(width, "<")


def name_field(surname: str, given_names: str, width: int) -> str:
    """`SURNAME<<GIVEN<NAMES` cut to `width` (ICAO truncation: the zone keeps the leading
    characters; callers wanting the finer truncation rules shorten the names first)."""
    primary = surname.upper().replace(" ", "<").replace("-", "<")
    secondary = given_names.upper().replace(" ", "<").replace("-", "<")
    name = primary + ("<<" + secondary if secondary else "")
    return _pad(name, width, "name", cut=True)


def compose(layout: str, *, document_code: str, issuer: str, surname: str, given_names: str,
            number: str, nationality: str, birth: str, sex: str, expiry: str,
            optional1: str = "", optional2: str = "") -> list[str]:
    """The lines of a `layout` zone with every check digit (composite included) filled in.

    Dates are YYMMDD; sex is M, F or <. `optional1` is TD3's personal number or the optional
    data of TD1 line 1 / TD2 line 2; `optional2` is TD1 line 2's optional data. Document numbers
    longer than 9 characters overflow into the optional data on TD1 and TD2 (not allowed on TD3).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown MRZ layout {layout!r}; layouts: {', '.join(LAYOUTS)}")
    for what, value in (("birth", birth), ("expiry", expiry)):
        if not _digits(value) or len(value) != 6:
            raise ValueError(f"{what} date {value!r} must be YYMMDD")
    if sex not in ("M", "F", "<"):
        raise ValueError(f"sex {sex!r} must be M, F or <")
    width = LAYOUTS[layout][1]
    code = _pad(document_code, 2, "document code")
    state = _pad(issuer, 3, "issuer")
    nation = _pad(nationality, 3, "nationality")
    num = number.upper()
    _pad(num, len(num), "document number")
    birth_part = birth + check_digit(birth)
    expiry_part = expiry + check_digit(expiry)

    def number_and_optional(opt_width: int, optional: str) -> tuple[str, str]:
        if len(num) <= 9:
            field = _pad(num, 9, "document number")
            return field + check_digit(field), _pad(optional, opt_width, "optional data")
        if layout == "TD3":
            raise ValueError(f"document number {num!r} is longer than 9 characters, which TD3 cannot hold")
        overflow = num[9:] + check_digit(num)
        if optional:
            overflow += "<" + optional
        return num[:9] + "<", _pad(overflow, opt_width, "document number overflow and optional data")

    if layout == "TD3":
        personal = _pad(optional1, 14, "personal number")
        personal_check = "<" if set(personal) == {"<"} else check_digit(personal)
        head, _ = number_and_optional(0, "")
        line2 = head + nation + birth_part + sex + expiry_part + personal + personal_check
        line1 = code + state + name_field(surname, given_names, width - 5)
        lines = [line1, line2]
    elif layout == "TD2":
        head, opt = number_and_optional(7, optional1)
        line2 = head + nation + birth_part + sex + expiry_part + opt
        line1 = code + state + name_field(surname, given_names, width - 5)
        lines = [line1, line2]
    else:
        head, opt = number_and_optional(15, optional1)
        line1 = code + state + head + opt
        line2 = birth_part + sex + expiry_part + nation + _pad(optional2, 11, "optional data")
        lines = [line1, line2, name_field(surname, given_names, width)]
    lines[1] += check_digit(_composite_data(layout, lines))
    return lines
