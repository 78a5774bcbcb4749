"""JSON serialisation of persons and change records (compact UTF-8 bytes,
built once and cached by the store; never per request for large bodies)."""
import json

from .refdata import GROUP_RANK

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(obj):
    return _dumps(obj).encode("utf-8")


def group_sort_key(t):
    return (GROUP_RANK.get(t, 1000), t)


def state_records(state, only=None):
    """A state's records in serving order (known groups in GROUP_ORDER,
    unknown ones after them by name)."""
    out = []
    for t in sorted(state, key=group_sort_key):
        if only is not None and t not in only:
            continue
        out.extend(state[t])
    return out


def person_bytes(hetu, records):
    return dumps({"henkilotunnus": hetu, "tietoryhmat": records})


def change_bytes(hetu, muutospv, groups):
    return dumps({"henkilotunnus": hetu, "muutospv": muutospv, "tietoryhmat": groups})
