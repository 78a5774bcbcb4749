"""Which order a change record shows (tests' helper), read from the records
alone, by the attributes change-semantics.md gives meaning to."""
from tests import mockproc  # noqa: F401  (sets sys.path)
from vtjmock import apply

HK = "HENKILOTUNNUS_KORJAUS"
CLOSING_FIRST, NEW_FIRST, BETWEEN = "closing-first", "new-first", "between"
DIMENSIONS = ("close", "hetu", "voimassa", "context")


def order_facts(groups):
    """{dimension: CLOSING_FIRST | NEW_FIRST | BETWEEN} for the dimensions
    this change has:
      close    -- a closing record (MUUTETTU+loppupv, POISTETTU) and a new
                  one (LISATTY, MUUTETTU without loppupv): which comes first
                  (KORJATTAVA/KORJATTU pairs, hetu-correction records,
                  records with voimassaolevatTiedot and LISATIETO left out);
      hetu     -- a hetu correction's PASSIIVI (closing) and AKTIIVI (new);
      voimassa -- a record with voimassaolevatTiedot and other records of its
                  group: before all of them (CLOSING_FIRST), after all
                  (NEW_FIRST);
      context  -- LISATIETO records and others: all before (CLOSING_FIRST),
                  all after (NEW_FIRST)."""
    out = {}
    pos = list(enumerate(groups))
    plain = [(n, g) for n, g in pos
             if g["muutosattribuutti"] not in ("LISATIETO", "KORJATTAVA", "KORJATTU")
             and g["tietoryhma"] != HK and "voimassaolevatTiedot" not in g]
    closing = [n for n, g in plain if apply.is_closing(g)]
    new = [n for n, g in plain if not apply.is_closing(g)
           and g["muutosattribuutti"] in ("LISATTY", "MUUTETTU")]
    if closing and new:
        out["close"] = CLOSING_FIRST if min(closing) < min(new) else NEW_FIRST
    hk = {g.get("voimassaolo"): n for n, g in pos if g["tietoryhma"] == HK}
    if "PASSIIVI" in hk and "AKTIIVI" in hk:
        out["hetu"] = CLOSING_FIRST if hk["PASSIIVI"] < hk["AKTIIVI"] else NEW_FIRST
    for n, g in pos:
        if "voimassaolevatTiedot" in g:
            others = [m for m, o in pos if m != n and o["tietoryhma"] == g["tietoryhma"]
                      and o["muutosattribuutti"] != "LISATIETO"]
            if others:
                out["voimassa"] = (CLOSING_FIRST if n < min(others) else
                                   NEW_FIRST if n > max(others) else BETWEEN)
    ctx = [n for n, g in pos if g["muutosattribuutti"] == "LISATIETO"]
    rest = [n for n, g in pos if g["muutosattribuutti"] != "LISATIETO"]
    if ctx and rest:
        out["context"] = (CLOSING_FIRST if max(ctx) < min(rest) else
                          NEW_FIRST if min(ctx) > max(rest) else BETWEEN)
    return out


def type_order_violations(groups, order):
    """Pairs of records of one group type that break a forced order: under
    new-first a closing record (rules 3-5, KORJATTAVA excepted: it always
    precedes its KORJATTU) before a new record of its type, under
    closing-first the opposite."""
    bad = []
    for n, a in enumerate(groups):
        for b in groups[n + 1:]:
            if a["tietoryhma"] != b["tietoryhma"]:
                continue
            if "KORJATTAVA" in (a["muutosattribuutti"], b["muutosattribuutti"]):
                continue
            if a["muutosattribuutti"] == "LISATIETO" or b["muutosattribuutti"] == "LISATIETO":
                continue
            a_close, b_close = apply.is_closing(a), apply.is_closing(b)
            if order == NEW_FIRST and a_close and not b_close:
                bad.append((a, b))
            if order == CLOSING_FIRST and b_close and not a_close:
                bad.append((a, b))
    return bad
