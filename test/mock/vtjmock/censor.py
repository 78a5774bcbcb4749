"""Turvakielto (protection order) censoring as a production-like product
(account mutpT1x) applies it, docs/interface.md#turvakielto-representation-and-client-behaviour and docs/products.md.

A protected person's location groups arrive without values, only as
{"tietoryhma": T, "turvakiellonAlaisetKentat": [withheld field names]}.
In /perustiedot every censorable group is emitted that way whether or not
the person has such data; in a change the groups the change carries are
replaced one for one (a LISATIETO becomes MUUTETTU: the marker is a
statement, not context).  YHTEYSOSOITE groups are never censored.
"""
import datetime

from .refdata import CENSORED_FIELDS, CENSORED_GROUPS, CENSORED_SET

NO_END = 10 ** 7   # ordinal far beyond any date


def protection_until(state):
    """None when the person has no active protection order in `state`,
    else the last protected day as a date ordinal (NO_END if open-ended).
    A turvaLoppuPv that passes ends the protection without a change record."""
    recs = state.get("TURVAKIELTO")
    if not recs:
        return None
    rec = recs[0]
    if not rec.get("turvakieltoAktiivinen"):
        return None
    end = rec.get("turvaLoppuPv")
    if end:
        return datetime.date.fromisoformat(end["arvo"]).toordinal()
    return NO_END


def is_protected(state, day_ordinal):
    until = protection_until(state)
    return until is not None and day_ordinal <= until


def marker(t, attr=None):
    g = {"tietoryhma": t}
    if attr is not None:
        g["muutosattribuutti"] = attr
    g["turvakiellonAlaisetKentat"] = list(CENSORED_FIELDS[t])
    return g


def censor_records(records):
    """/perustiedot view of a protected person: location groups replaced by
    markers for all censorable groups."""
    out = [r for r in records if r["tietoryhma"] not in CENSORED_SET]
    out.extend(marker(t) for t in CENSORED_GROUPS)
    return out


def censor_change_groups(groups):
    out = []
    seen = set()
    for g in groups:
        t = g["tietoryhma"]
        if t not in CENSORED_SET:
            out.append(g)
            continue
        if t in seen:
            continue
        seen.add(t)
        a = g.get("muutosattribuutti")
        out.append(marker(t, "MUUTETTU" if a == "LISATIETO" else a))
    return out
