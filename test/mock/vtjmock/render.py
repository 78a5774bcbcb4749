"""JSON serialisation of persons and change records (compact UTF-8 bytes,
built once and cached by the store; never per request for large bodies)."""
import json
import json.encoder

from .refdata import GROUP_RANK

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
try:
    # the C encoder that JSONEncoder.encode builds anew on every call, built
    # once (no circular-reference bookkeeping: our data are trees); the same
    # output, at a fraction of the cost for the many small records
    _c_encoder = json.encoder.c_make_encoder(
        None, None, json.encoder.encode_basestring, None, ":", ",", False, False, True)
except (AttributeError, TypeError):
    _c_encoder = None


def dumps(obj):
    if _c_encoder is not None and isinstance(obj, (dict, list)):
        return "".join(_c_encoder(obj, 0)).encode("utf-8")
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
