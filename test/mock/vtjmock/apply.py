"""Reference implementation of docs/change-semantics.md: how a change
updates a person's current data.  The mirror's PL/pgSQL implements the same
rules; change one, change the other.

State: {tietoryhma: [record, ...]}; a record is a group object stripped of
muutosattribuutti and voimassaolevatTiedot.  Empty lists are dropped.

A closing record (KORJATTAVA, POISTETTU without voimassaolevatTiedot,
MUUTETTU with loppupv) removes only the record it matches, in single- and
multi-valued groups alike; that is what makes the order of the records
inside one change irrelevant (the interface sends the new record before or
after the one that closes its predecessor).
"""
from .refdata import MULTI_VALUED

VOLATILE = ("muutosattribuutti", "voimassaolevatTiedot")


def strip(g):
    """The record form of a group object."""
    return {k: v for k, v in g.items() if k not in VOLATILE}


def _core(rec):
    return {k: v for k, v in rec.items() if k not in VOLATILE and k != "loppupv"}


def same_record(a, b):
    """Equal after stripping and also removing loppupv."""
    return _core(a) == _core(b)


def is_censored(g):
    """A group carrying turvakiellonAlaisetKentat and no values."""
    if "turvakiellonAlaisetKentat" not in g:
        return False
    return all(k in ("tietoryhma", "muutosattribuutti", "turvakiellonAlaisetKentat")
               for k in g)


def is_closing(g):
    """Rules 3, 4, 5: a record that ends, is being corrected or is removed."""
    a = g.get("muutosattribuutti")
    return (a == "KORJATTAVA" or (a == "POISTETTU" and "voimassaolevatTiedot" not in g)
            or (a == "MUUTETTU" and "loppupv" in g))


def apply_change(state, groups):
    """Returns a new state; `state` is not modified."""
    st = {t: list(v) for t, v in state.items()}
    for g in groups:
        t = g["tietoryhma"]
        # rule 1: the valid records are given -- they are the list
        if "voimassaolevatTiedot" in g:
            st[t] = [strip(x) for x in g["voimassaolevatTiedot"]]
            continue
        # rule 7: a value exists but is withheld -- forget what we had
        if is_censored(g):
            st[t] = []
            continue
        a = g.get("muutosattribuutti")
        # rule 2: context only
        if a == "LISATIETO":
            continue
        # rule 8: the hetu given up describes the correction; the person's
        # record is the AKTIIVI one, whichever comes first
        if t == "HENKILOTUNNUS_KORJAUS" and g.get("voimassaolo") == "PASSIIVI":
            continue
        rec = strip(g)
        cur = st.get(t, [])
        if is_closing(g):
            # rules 3, 4, 5: remove the matching record only (none: no effect),
            # so that a successor sent before it survives
            st[t] = [r for r in cur if not same_record(r, rec)]
        elif a in ("LISATTY", "KORJATTU", "MUUTETTU"):
            # rule 6: new current value
            if t in MULTI_VALUED:
                for n, r in enumerate(cur):
                    if same_record(r, rec):
                        cur = cur[:n] + [rec] + cur[n + 1:]
                        break
                else:
                    cur = cur + [rec]
                st[t] = cur
            else:
                st[t] = [rec]
        # an attribute nobody knows yet: no rule, no effect
    return {t: v for t, v in st.items() if v}


def apply_changes(state, changes):
    """Apply a sequence of change records ({"tietoryhmat": [...]}) in order."""
    for ch in changes:
        state = apply_change(state, ch["tietoryhmat"])
    return state


def state_from_groups(groups):
    """{tietoryhma: [records]} from a /perustiedot person's tietoryhmat."""
    st = {}
    for g in groups:
        st.setdefault(g["tietoryhma"], []).append(strip(g))
    return st


def without_censored(state):
    """Drop the groups that carry only a censoring marker."""
    out = {}
    for t, recs in state.items():
        keep = [r for r in recs if not is_censored(r)]
        if keep:
            out[t] = keep
    return out
