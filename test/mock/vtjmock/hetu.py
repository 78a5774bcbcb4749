"""Henkilötunnus (hetu) format, checksum and validation (docs/interface.md#hetu-format-and-checksum).

Format DDMMYY C NNN K.  C is the century marker, NNN the individual number
(odd = male, even = female), K the check character
"0123456789ABCDEFHJKLMNPRSTUVWXY"[int(DDMMYYNNN) % 31]; the marker is not part
of the checksum.  Test hetus have NNN in 900..999.
"""
import datetime
import re

CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"

# marker -> century base year
CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900,
           "U": 1900, "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000,
           "F": 2000}
MARKERS_1800 = "+"
MARKERS_1900_NEW = "YXWVU"
MARKERS_2000_NEW = "BCDEF"
ALL_MARKERS = "+-YXWVUABCDEF"

HETU_RE = re.compile(
    r"^(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}[-+A-FU-Y]\d{3}[0-9A-FHJ-NPR-Y]$")


def check_char(ddmmyy, nnn):
    """ddmmyy: 6-char string, nnn: int 0..999."""
    return CHECK_CHARS[(int(ddmmyy) * 1000 + nnn) % 31]


def make(birth, marker, nnn):
    """birth: datetime.date; marker must match the birth century."""
    ddmmyy = "%02d%02d%02d" % (birth.day, birth.month, birth.year % 100)
    return "%s%s%03d%s" % (ddmmyy, marker, nnn, check_char(ddmmyy, nnn))


def parse(h):
    """-> (birthdate, marker, nnn).  Raises ValueError if malformed."""
    if not isinstance(h, str) or len(h) != 11:
        raise ValueError("bad hetu length")
    marker = h[6]
    if marker not in CENTURY:
        raise ValueError("bad century marker")
    year = CENTURY[marker] + int(h[4:6])
    birth = datetime.date(year, int(h[2:4]), int(h[0:2]))
    return birth, marker, int(h[7:10])


def is_valid(h):
    """Format, real calendar date and check character."""
    if not isinstance(h, str) or not HETU_RE.match(h):
        return False
    try:
        parse(h)
    except ValueError:
        return False
    return check_char(h[0:6], int(h[7:10])) == h[10]


def is_test_hetu(h):
    """Valid and with an individual number 900..999 (DVV test hetus)."""
    return is_valid(h) and 900 <= int(h[7:10]) <= 999


def sex_of(h):
    """'MIES' for odd individual numbers, 'NAINEN' for even."""
    return "MIES" if int(h[7:10]) % 2 else "NAINEN"
