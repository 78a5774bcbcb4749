"""Time helpers: Europe/Helsinki without tzdata, ISO stamps, VTJ date objects.

The EU rule (since 1996) is hard-coded so the mock does not depend on the
system's zoneinfo: EEST (+3) from the last Sunday of March 01:00 UTC to the
last Sunday of October 01:00 UTC, otherwise EET (+2).
"""
import datetime

EPOCH = datetime.datetime(1970, 1, 1)
DAY_MS = 86400000
HOUR_MS = 3600000


def _last_sunday(year, month):
    d = datetime.date(year, month, 31)
    return d - datetime.timedelta(days=(d.weekday() + 1) % 7)


_dst_cache = {}


def _dst_bounds_ms(year):
    b = _dst_cache.get(year)
    if b is None:
        start = datetime.datetime.combine(_last_sunday(year, 3), datetime.time(1))
        end = datetime.datetime.combine(_last_sunday(year, 10), datetime.time(1))
        b = (int((start - EPOCH).total_seconds()) * 1000,
             int((end - EPOCH).total_seconds()) * 1000)
        _dst_cache[year] = b
    return b


def helsinki_offset_ms(utc_ms):
    year = (EPOCH + datetime.timedelta(milliseconds=utc_ms)).year
    start, end = _dst_bounds_ms(year)
    return 3 * HOUR_MS if start <= utc_ms < end else 2 * HOUR_MS


def date_to_ms(d):
    """UTC midnight of a date as epoch ms."""
    return (d.toordinal() - 719163) * DAY_MS


def local_to_utc_ms(d, ms_of_day):
    """Helsinki wall-clock time on date d -> epoch ms (UTC)."""
    local = date_to_ms(d) + ms_of_day
    guess = local - 2 * HOUR_MS
    off = helsinki_offset_ms(guess)
    utc = local - off
    # re-check once: near a transition the guess may sit on the other side
    off2 = helsinki_offset_ms(utc)
    return local - off2


def helsinki_midnight_ms(d):
    return local_to_utc_ms(d, 0)


def helsinki_date(utc_ms):
    local = utc_ms + helsinki_offset_ms(utc_ms)
    return datetime.date.fromordinal(local // DAY_MS + 719163)


def iso_ms(utc_ms):
    """2026-03-04T09:12:33.120Z"""
    dt = EPOCH + datetime.timedelta(milliseconds=utc_ms)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second,
        utc_ms % 1000)


def parse_iso_ms(s):
    """Accepts 'YYYY-MM-DD', 'YYYY-MM-DDTHH:MM:SS[.fff]Z' or with +hh:mm."""
    if len(s) == 10:
        return helsinki_midnight_ms(datetime.date.fromisoformat(s))
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp() * 1000)


def dobj(d, tarkkuus="PAIVA"):
    """VTJ date object.  KUUKAUSI/VUOSI precision use the 1st of month/year."""
    if tarkkuus == "KUUKAUSI":
        d = d.replace(day=1)
    elif tarkkuus == "VUOSI":
        d = d.replace(month=1, day=1)
    return {"arvo": d.isoformat(), "tarkkuus": tarkkuus}


def yyyymmdd(dobj_or_none):
    """VTJkysely date format from a VTJ date object; '' when absent."""
    if not dobj_or_none:
        return ""
    return dobj_or_none["arvo"].replace("-", "")
