"""Value detectors and masking for the personal-data scan (internal: use validation.personal_data).

Each detector is a small function ``(text, today) -> hits`` for one finding type. A hit carries
the masked form only; the full value stays inside the detector.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

PERSONNUMMER = "personnummer"
SAMORDNINGSNUMMER = "samordningsnummer"
EMAIL = "email"
PHONE_SE = "phone-se"
IBAN = "iban"
BANKGIRO = "bankgiro"
COLUMN_NAME_HINT = "column-name-hint"
FINDING_TYPES = (PERSONNUMMER, SAMORDNINGSNUMMER, EMAIL, PHONE_SE, IBAN, BANKGIRO, COLUMN_NAME_HINT)
IDENTITY_TYPES = (PERSONNUMMER, SAMORDNINGSNUMMER)

_OLDEST_AGE = 130  # years; older "birth dates" are not identity numbers

# Each *_CORE pattern is valid in both RE2 (the vectorised prefilter) and Python's re: ASCII
# classes only, no lookarounds. Python adds exact lookaround boundaries; RE2 consumes a
# neighbouring character instead, which accepts a superset -- all a prefilter needs.


@dataclass(frozen=True, slots=True)
class Hit:
    type: str
    start: int
    end: int
    valid: bool  # False: well-formed but the checksum failed (kept to judge the column)
    masked: str = ""


_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])"  # 61-91: samordningsnummer
_ID_CORE = (
    rf"(?:(?:18|19|20)[0-9]{{2}}{_MONTH}{_DAY}-?[0-9]{{4}}"  # YYYYMMDD-NNNC, YYYYMMDDNNNC
    rf"|[0-9]{{2}}{_MONTH}{_DAY}[-+]?[0-9]{{4}})"  # YYMMDD-NNNC, YYMMDD+NNNC, YYMMDDNNNC
)
_ID_RE = re.compile(rf"(?<![0-9]){_ID_CORE}(?![0-9])")


_DOUBLED = {str(d): (2 * d) % 9 if d != 9 else 9 for d in range(10)}  # "7" -> 14 -> 1 + 4


def _luhn_ok(digits: str) -> bool:
    # Slicing and a lookup table: this runs for every identity-number candidate.
    total = sum(map(int, digits[-1::-2])) + sum(_DOUBLED[ch] for ch in digits[-2::-2])
    return total % 10 == 0


def _parse_identity(raw: str, today: date) -> tuple[str, bool] | None:
    """(type, Luhn ok) for a well-formed number, None if its date cannot be a birth date."""
    plus = "+" in raw
    digits = raw.replace("-", "").replace("+", "")
    short = digits[-10:]  # Luhn and the date fields work on YYMMDDNNNC
    month, day = int(short[2:4]), int(short[4:6])
    kind = PERSONNUMMER
    if day > 60:
        day, kind = day - 60, SAMORDNINGSNUMMER
    if len(digits) == 12:
        year = int(digits[:4])
    else:
        # The 10-digit form says "under 100" with '-' (or none) and "100 or older" with '+'.
        year = today.year - today.year % 100 + int(short[:2])
        if (year, month, day) > (today.year, today.month, today.day):
            year -= 100
        if plus:
            year -= 100
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    if born > today or year < today.year - _OLDEST_AGE:
        return None
    return kind, _luhn_ok(short)


def detect_identity(text: str, today: date) -> Iterator[Hit]:
    for m in _ID_RE.finditer(text):
        parsed = _parse_identity(m.group(), today)
        if parsed is not None:
            kind, ok = parsed
            yield Hit(kind, m.start(), m.end(), ok, m.group()[:-4] + "****" if ok else "")


_EMAIL_CHARS = "A-Za-z0-9ÅÄÖåäöÉéÜü"
_EMAIL_CORE = rf"[{_EMAIL_CHARS}._%+'-]+@(?:[{_EMAIL_CHARS}-]+\.)+[A-Za-z]{{2,24}}"
_EMAIL_RE = re.compile(rf"(?<![{_EMAIL_CHARS}._%+'-]){_EMAIL_CORE}(?![A-Za-z0-9-])")
# "icon@2x.png" is a file name, not an address.
_FILE_SUFFIXES = {"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "csv", "txt", "json"}


def _email_ok(raw: str) -> bool:
    local, _, domain = raw.rpartition("@")
    return (
        not local.startswith(".")
        and not local.endswith(".")
        and ".." not in raw
        and domain.rsplit(".", 1)[1].lower() not in _FILE_SUFFIXES
    )


def _mask_email(raw: str) -> str:
    local, _, domain = raw.rpartition("@")
    return f"{local[:1]}***@{domain}"


def detect_email(text: str, today: date) -> Iterator[Hit]:
    for m in _EMAIL_RE.finditer(text):
        if _email_ok(m.group()):
            yield Hit(EMAIL, m.start(), m.end(), True, _mask_email(m.group()))


_PHONE_CORE = (
    r"(?P<prefix>(?:\+|00)46[ ]?(?:\(0\)[ ]?)?|0)"  # +46 / 0046 (optionally "(0)") or trunk 0
    r"(?P<area>8|[1-9][0-9]{1,2})"  # area code or mobile prefix (70, 72, ...)
    r"(?P<sep>[ ]?[-/–][ ]?|[ ])?"
    r"(?P<sub>[0-9]{2,4}(?:[ -][0-9]{2,4}){1,3}|[0-9]{5,8})"  # "123 45 67", "123 4567", "1234567"
)
# Not inside a word or number, and not a piece of a longer digit run such as the amount
# "12 070 456 789" or "070-123 45 67 89": those boundaries are what keeps amounts, postal codes
# and dates out.
_PHONE_RE = re.compile(rf"(?<![\w+.,/])(?<![0-9][ .,/–-]){_PHONE_CORE}(?![0-9]|[ .,/–-][0-9])")
_MOBILE_PREFIXES = "02369"  # 070, 072, 073, 076, 079


def _phone_ok(m: re.Match[str]) -> bool:
    prefix = m.group("prefix")
    digits = re.sub(r"[^0-9]", "", m.group().replace("(0)", ""))
    nsn = digits[1:] if prefix == "0" else digits[2:] if prefix.startswith("+") else digits[4:]
    # Swedish numbers without the trunk 0 have 8 or 9 digits (7 only in obsolete numbering,
    # which would let "08-12 13-17" opening hours through).
    if not 8 <= len(nsn) <= 9:
        return False
    mobile = nsn[0] == "7" and nsn[1] in _MOBILE_PREFIXES
    if mobile and len(nsn) != 9:
        return False
    bare = not m.group("sep") and m.group("sub").isdigit()
    # A bare digit run counts only if it is a mobile number or starts with "+46": otherwise any
    # zero-padded 9-10 digit ID would look like a landline.
    return not bare or mobile or prefix.startswith("+")


def _mask_phone(m: re.Match[str]) -> str:
    if m.group("sep"):
        keep = m.end("sep")
    else:
        keep = m.start("area") + (1 if m.group("area").startswith("8") else 2)
    head, tail = m.string[m.start() : keep], m.string[keep : m.end()]
    last_two = [i for i, ch in enumerate(tail) if ch.isdigit()][-2:]
    return head + "".join(
        "*" if ch.isdigit() and i not in last_two else ch for i, ch in enumerate(tail)
    )


def detect_phone(text: str, today: date) -> Iterator[Hit]:
    for m in _PHONE_RE.finditer(text):
        if _phone_ok(m):
            yield Hit(PHONE_SE, m.start(), m.end(), True, _mask_phone(m))


# ISO 13616 registry lengths; unknown country codes are not reported (an arbitrary "XX00..."
# token passes mod 97 one time in 97).
_IBAN_LENGTHS = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK"], 20),
    **dict.fromkeys(["CH", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "IQ", "TL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["PT", "ST"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU"], 30),
    **dict.fromkeys(["MT", "SC"], 31),
    **dict.fromkeys(["LC"], 32),
}
_IBAN_CORE = r"[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}"
_IBAN_RE = re.compile(rf"(?<![A-Za-z0-9]){_IBAN_CORE}")


def _iban_ok(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _mask_iban(compact: str) -> str:
    masked = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def detect_iban(text: str, today: date) -> Iterator[Hit]:
    pos = 0
    while (m := _IBAN_RE.search(text, pos)) is not None:
        pos = m.start() + 1  # a rejected greedy match may hide an IBAN that starts later
        length = _IBAN_LENGTHS.get(m.group()[:2])
        if length is None:
            continue
        # The pattern is greedy across spaces; cut at the country's length, which must end
        # where a token ends.
        chars: list[str] = []
        end = m.start()
        while len(chars) < length and end < m.end():
            if text[end] != " ":
                chars.append(text[end])
            end += 1
        compact = "".join(chars)
        if len(compact) < length or (end < len(text) and text[end].isalnum()):
            continue
        if _iban_ok(compact):
            pos = end
            yield Hit(IBAN, m.start(), end, True, _mask_iban(compact))


_BANKGIRO_CORE = r"[1-9][0-9]{2,3}-[0-9]{4}"
_BANKGIRO_RE = re.compile(rf"(?<![\w-]){_BANKGIRO_CORE}(?![0-9]|-[0-9])")
_YEAR_RANGE = re.compile(r"(?:18|19|20)[0-9]{2}-(?:18|19|20)[0-9]{2}")


def _mask_digits_but_last_two(raw: str) -> str:
    positions = [i for i, ch in enumerate(raw) if ch.isdigit()]
    hide = set(positions[:-2])
    return "".join("*" if i in hide else ch for i, ch in enumerate(raw))


def detect_bankgiro(text: str, today: date) -> Iterator[Hit]:
    for m in _BANKGIRO_RE.finditer(text):
        raw = m.group()
        # "2009-2013" is a period; it stays a (failing) candidate so that a text column full of
        # periods and page ranges does not vouch for the odd range that passes Luhn.
        ok = not _YEAR_RANGE.fullmatch(raw) and _luhn_ok(raw.replace("-", ""))
        yield Hit(BANKGIRO, m.start(), m.end(), ok, _mask_digits_but_last_two(raw) if ok else "")


Detector = Callable[[str, date], Iterator[Hit]]


def _re2(core: str, before: str, after: str) -> str:
    return f"(?:^|[^{before}])(?:{core})(?:$|[^{after}])"


# (RE2 prefilter, detector): a cell reaches a detector only if its prefilter matched.
TEXT_DETECTORS: tuple[tuple[str, Detector], ...] = (
    (_re2(_ID_CORE, "0-9", "0-9"), detect_identity),
    (_re2(_EMAIL_CORE, f"{_EMAIL_CHARS}._%+'-", "A-Za-z0-9-"), detect_email),
    (_re2(_PHONE_CORE, "0-9A-Za-z_+.,/", "0-9"), detect_phone),
    (_re2(_IBAN_CORE, "A-Za-z0-9", "A-Za-z0-9"), detect_iban),
    (_re2(_BANKGIRO_CORE, "0-9A-Za-z_-", "0-9"), detect_bankgiro),
)
PREFILTER = "|".join(pattern for pattern, _ in TEXT_DETECTORS)
ALL_TEXT_DETECTORS = tuple(detect for _, detect in TEXT_DETECTORS)


# --- masking ------------------------------------------------------------------------------


def _mask_all(value: str) -> str:
    return re.sub(r"[^\W_]", "*", value)


def mask_value(type: str, value: object) -> str:
    """Mask ``value`` (``str()`` of it) the way the scan masks examples of ``type``.

    Values that do not look like ``type`` (and unknown types) get every letter and digit
    replaced by ``*``, so a renderer can show anything it gets without leaking it.
    """
    text = str(value).strip()
    if type in (PERSONNUMMER, SAMORDNINGSNUMMER) and _ID_RE.fullmatch(text):
        return text[:-4] + "****"
    if type == EMAIL and _EMAIL_RE.fullmatch(text):
        return _mask_email(text)
    if type == PHONE_SE and (m := _PHONE_RE.fullmatch(text)) is not None:
        return _mask_phone(m)
    compact = text.replace(" ", "").upper()
    # Only IBAN-shaped values keep their first and last four characters: the last four of, say,
    # a personnummer in an IBAN column are exactly what must not show.
    if type == IBAN and re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return _mask_iban(compact)
    if type == BANKGIRO and _BANKGIRO_RE.fullmatch(text):
        return _mask_digits_but_last_two(text)
    return _mask_all(text)
