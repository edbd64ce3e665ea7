"""Column-name hints for the personal-data scan (internal: use validation.personal_data).

A name alone is a weak signal: ``kommunnamn`` or ``stationsnamn`` are not about people, and
``namn`` in a table of municipalities is the municipality's. Hence exact keywords, a few
Swedish compound endings and a rule for ``namn``, rather than substring matching (which would
find "tel" in "hotel" and "ssn" in "classname").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_NAME_KEYWORDS = {
    **dict.fromkeys(
        ["personnummer", "personnr", "persnr", "pnr", "ssn", "socialsecuritynumber"],
        "personnummer",
    ),
    **dict.fromkeys(["samordningsnummer", "samordningsnr"], "personnummer"),
    **dict.fromkeys(
        ["epost", "email", "mail", "emailadress", "emailaddress", "epostadress", "mailadress"],
        "email",
    ),
    **dict.fromkeys(
        ["telefon", "telefonnummer", "telefonnr", "tel", "telnr", "mobil", "mobilnummer"]
        + ["mobilnr", "mobiltelefon", "phone", "phonenumber", "telephone", "mobile", "cellphone"],
        "phone",
    ),
    **dict.fromkeys(
        ["adress", "address", "gatuadress", "postadress", "hemadress", "bostadsadress"]
        + ["folkbokforingsadress", "streetaddress"],
        "address",
    ),
    **dict.fromkeys(
        ["fornamn", "efternamn", "tilltalsnamn", "mellannamn", "firstname", "lastname"]
        + ["surname", "givenname", "familyname", "fullname", "kontaktperson"],
        "name",
    ),
    **dict.fromkeys(
        ["fodelsedatum", "fodelsedag", "birthdate", "dateofbirth", "dob", "birthday"],
        "birth-date",
    ),
    **dict.fromkeys(
        ["iban", "bankgiro", "bankkonto", "kontonummer", "clearingnummer", "bankaccount"],
        "bank-account",
    ),
}
# Swedish compounds: "elevpersonnummer", "kontaktepost", "hemtelefon", "leveransadress".
_NAME_SUFFIXES = (
    ("personnummer", "personnummer"),
    ("personnr", "personnummer"),
    ("epostadress", "email"),
    ("mailadress", "email"),
    ("epost", "email"),
    ("email", "email"),
    ("telefon", "phone"),
    ("telefonnummer", "phone"),
    ("mobilnummer", "phone"),
    ("adress", "address"),
    ("address", "address"),
    ("fornamn", "name"),
    ("efternamn", "name"),
    ("fodelsedatum", "birth-date"),
    ("kontonummer", "bank-account"),
)
_NOT_PERSONAL = {"webbadress", "webadress", "webaddress", "hemsideadress", "urladress"}
# "namn"/"name" is a person's name only after one of these ("kund_namn", "contact name") or
# standing alone; "kommun_namn", "station_name" or "file_name" are not.
_PERSON_WORDS = {"person", "kontaktperson", "kund", "elev", "patient", "anstalld", "contact"}
_PERSON_WORDS |= {"customer", "user", "full", "fullstandigt", "first", "last", "given", "family"}
# ... and a lone "namn" next to one of these columns names a place or an organisation.
_PLACE_WORDS = {"kommun", "kommunkod", "lan", "lanskod", "region", "station", "ort", "land"}
_PLACE_WORDS |= {"country", "county", "municipality", "organisation", "organization", "skola"}
_PLACE_WORDS |= {"myndighet", "foretag", "company", "kod", "code"}


def _name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)  # camelCase -> camel Case
    folded = "".join(
        ch for ch in unicodedata.normalize("NFKD", spaced) if not unicodedata.combining(ch)
    ).casefold()
    return [t for t in re.split(r"[^a-z0-9]+", folded) if t]


def column_name_hint(name: str, siblings: Iterable[str] = ()) -> str | None:
    """What a column name suggests (``"personnummer"``, ``"email"``, ``"phone"``, ``"address"``,
    ``"name"``, ``"birth-date"``, ``"bank-account"``) or None. Case and diacritics are ignored.

    ``siblings`` are the other column names at the same level; they decide whether a lone
    ``namn`` is a person's or a municipality's.
    """
    tokens = _name_tokens(name)
    if not tokens:
        return None
    joined = ["".join(tokens)]
    for width in (3, 2):
        joined += ["".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1)]
    if any(j in _NOT_PERSONAL for j in joined):
        return None
    for candidate in joined + tokens:  # longest first: "e-postadress" is email, not address
        if candidate in _NAME_KEYWORDS:
            return _NAME_KEYWORDS[candidate]
    for token in tokens:
        for suffix, category in _NAME_SUFFIXES:
            if token.endswith(suffix):
                return category
    for i, token in enumerate(tokens):
        if token in ("namn", "name"):
            if i and tokens[i - 1] in _PERSON_WORDS:
                return "name"
            if len(tokens) == 1:
                others = {t for s in siblings if s != name for t in _name_tokens(s)}
                return None if others & _PLACE_WORDS else "name"
    return None
