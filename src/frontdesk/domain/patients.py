"""Patient rules: names folded for search, dates typed in the clinic's order, phones in E.164.

Pure: no I/O and no clock; `today` comes in as a value.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date

from frontdesk.domain.errors import FrontdeskError, validation

DATE_ORDERS = ("DMY", "MDY", "YMD")
DEFAULT_COUNTRY = "GB"


def default_date_order(country: str) -> str:
    """The order people write dates in `country` (ISO 3166 alpha-2): month first in the US."""
    return "MDY" if country.upper() == "US" else "DMY"


def check_country(value: str) -> str:
    """An ISO 3166 alpha-2 code that phone numbers know (GB, US, FR ...), upper case."""
    import phonenumbers  # on first use: 20 ms of start-up that commands without a phone skip
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise validation(f"{value!r} is not a country code (two letters, e.g. GB, US, FR)", field="country")
    return code


# --- names -------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Text as search compares it: accents stripped, case folded, runs of spaces made one."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())


def search_name(first_name: str, last_name: str) -> str:
    """The stored search key: "last first|first last", folded. Last name first, so sorting
    on it sorts by last name; both orders, so a name typed either way is found in it."""
    first, last = fold(first_name), fold(last_name)
    return f"{last} {first}|{first} {last}"


# --- dates -------------------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_NUMERIC = re.compile(r"^(\d{1,4})[/.\-\s](\d{1,2})(?:[/.\-\s](\d{1,4}))?$")
_WORDS = re.compile(r"[a-z]+|\d+")


def _example(order: str) -> str:
    return {"DMY": "31/12/1980", "MDY": "12/31/1980", "YMD": "1980/12/31"}[order]


def _full_year(year: int, digits: int, today: date) -> int:
    """A two-digit year: the latest year ending so that is not after this year."""
    if digits > 2:
        return year
    century = today.year - today.year % 100
    return century + year if century + year <= today.year else century - 100 + year


def _make(text: str, year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise validation(f"{text!r}: there is no month {month}", field="date")
    try:
        return date(year, month, day)
    except ValueError:
        raise validation(f"{day} {calendar.month_name[month]} {year} does not exist", field="date") from None


def parse_date_text(text: str, order: str, today: date, default_year: int | None = None) -> date:
    """A date as the desk types it: ISO (1980-12-31) always; numbers in the clinic's `order`
    with / . - or spaces between (31/12/1980, 31.12.80); or with the month in words (31 Dec
    1980, Dec 31 1980, December 31, 1980). Without a year, `default_year` if given. A date
    that cannot be ("30 February 1980") says so. VALIDATION_ERROR with field `date`."""
    raw = text
    text = text.strip().lower().replace(",", " ")
    bad = validation(
        f"{raw!r} is not a date; type it like {_example(order)} or 1980-12-31", field="date"
    )
    if not text:
        raise bad
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if iso:
        return _make(raw, int(iso[1]), int(iso[2]), int(iso[3]))
    parts = _WORDS.findall(text)
    words = [p for p in parts if not p.isdigit()]
    numbers = [p for p in parts if p.isdigit()]
    if words:
        # The month in words: the numbers are the day and then the year, in any order of place.
        if len(words) != 1 or words[0] not in _MONTHS or not 1 <= len(numbers) <= 2:
            raise bad
        month = _MONTHS[words[0]]
        if len(numbers) == 2 and len(numbers[0]) == 4:  # 1980 Dec 31
            numbers.reverse()
        day_text = numbers[0]
        year_text = numbers[1] if len(numbers) == 2 else None
    else:
        match = _NUMERIC.match(" ".join(text.split()) if " " in text else text)
        if not match:
            raise bad
        a, b, c = match[1], match[2], match[3]
        if len(a) == 4:  # a year first is always year, month, day
            if c is None:
                raise bad
            return _make(raw, int(a), int(b), int(c))
        if order == "YMD":
            if c is None:  # month and day
                month_text, day_text, year_text = a, b, None
            else:
                year_text, month_text, day_text = a, b, c
        elif order == "MDY":
            month_text, day_text, year_text = a, b, c
        else:
            day_text, month_text, year_text = a, b, c
        month = int(month_text)
    if year_text is None:
        if default_year is None:
            raise validation(f"{raw!r} has no year; type it like {_example(order)}", field="date")
        year = default_year
    else:
        if len(year_text) not in (2, 4):
            raise bad
        year = _full_year(int(year_text), len(year_text), today)
    if len(day_text) > 2:
        raise bad
    return _make(raw, year, month, int(day_text))


def parse_date_of_birth(text: str, order: str, today: date) -> date:
    """A date of birth in the clinic's order; not in the future, not before 1900."""
    try:
        born = parse_date_text(text, order, today)
    except FrontdeskError as exc:
        exc.details["field"] = "date_of_birth"
        raise
    if born > today:
        raise validation(f"Date of birth is in the future ({born.isoformat()})", field="date_of_birth")
    if born.year < 1900:
        raise validation(f"Date of birth is before 1900 ({born.isoformat()})", field="date_of_birth")
    return born


# --- phones ------------------------------------------------------------------------------


def phone_e164(text: str, region: str, field: str = "phone") -> str:
    """A phone number typed any common way (07700 900396, +44 7700 900396, (020) 7946-0000)
    as E.164 (+447700900396), reading national numbers as `region`'s. VALIDATION_ERROR naming
    `field` when it is not a possible number."""
    import phonenumbers  # on first use: 20 ms of start-up that commands without a phone skip
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise validation(f"Not a phone number: {text!r} (e.g. 07700 900396 or +44 7700 900396)", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_none(text: str | None, region: str) -> str | None:
    """E.164 when `text` reads as a number, else None (for searching and for old rows)."""
    if not text:
        return None
    try:
        return phone_e164(text, region)
    except FrontdeskError:
        return None


def phone_display(e164: str | None, region: str) -> str | None:
    """How the desk reads a number back: national format for the clinic's own country
    (07700 900396), international for any other (+33 1 23 45 67 89)."""
    import phonenumbers  # on first use: 20 ms of start-up that commands without a phone skip
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    same_country = number.country_code == phonenumbers.country_code_for_region(region)
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same_country else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def phone_search_start(text: str, region: str) -> str | None:
    """The start of the E.164 numbers a phone typed into a search stands for: a valid whole
    number as itself (`+44 (0)20 7946 0000` too), else the start typed (`07700 9003` ->
    `+4477009003`: a possible number to phonenumbers, but not this one). None if not a
    phone's start."""
    import phonenumbers  # on first use: 20 ms of start-up that commands without a phone skip
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phone_prefix(text, region)


def phone_prefix(text: str, region: str) -> str | None:
    """The start of an E.164 number that a partly typed phone stands for: "+44 20 7946" ->
    "+44207946", "020 7946" -> "+44207946" (the national prefix dropped). None if not digits."""
    import phonenumbers  # on first use: 20 ms of start-up that commands without a phone skip
    cleaned = re.sub(r"[\s().\-/]", "", text)
    if not re.fullmatch(r"\+?\d{3,15}", cleaned):
        return None
    if cleaned.startswith("+"):
        return cleaned
    if cleaned.startswith("00"):
        return "+" + cleaned[2:]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = (metadata.national_prefix if metadata else None) or ""
    if trunk and cleaned.startswith(trunk):
        return f"+{phonenumbers.country_code_for_region(region)}{cleaned[len(trunk):]}"
    return None


def format_date(day: date | None, order: str) -> str:
    """A date as the desk writes it: 31/12/1980 (DMY), 12/31/1980 (MDY), 1980-12-31 (YMD)."""
    if day is None:
        return ""
    if order == "MDY":
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    if order == "YMD":
        return day.isoformat()
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def date_example(order: str) -> str:
    return _example(order)
