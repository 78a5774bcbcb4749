// The step of the apply rules (docs/change-semantics.md), the transition function of the
// ordered aggregate vtj_internal.apply (extension/20_05_apply.sql):
//   vtj_internal.apply_step(tila jsonb, g jsonb, moni boolean) RETURNS jsonb
//
// It was a function of SQL with sub-queries, about 30 µs a step: at a six months' backlog of a
// million members (1.3 million steps) the largest part of a change run. This one works on the
// jsonb containers directly. It keeps the SQL version's semantics to the edge cases (a NULL
// argument, a value of an unexpected JSON type, the errors jsonb's operators raise), so that
// the property test (test/integration/45_apply_property.py) holds it against the mock's
// reference, test/mock/vtjmock/apply.py, as it held the SQL.
//
// A C zone (docs/cpp-boundary.md): only PostgreSQL's C API and plain pointers, no C++ object
// with a destructor, so an ereport from jsonb's functions may unwind through it. Memory is the
// aggregate's per-row context: nodeAgg copies a new state into its own.
#include "pg/boundary.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace {

// g->>key = word: true when the object has a string value under `key` equal to `word` (the
// ->> text of any other value, or of a missing key, never equals a bare word).
bool member_is(Jsonb *j, const char *key, const char *word)
{
    if (j == nullptr || !JB_ROOT_IS_OBJECT(j))
        return false;
    JsonbValue v;
    if (getKeyJsonValueFromContainer(&j->root, key, static_cast<uint32>(strlen(key)), &v) == nullptr ||
        v.type != jbvString)
        return false;
    size_t n = strlen(word);
    return static_cast<size_t>(v.val.string.len) == n && memcmp(v.val.string.val, word, n) == 0;
}

bool member_is_any(Jsonb *j, const char *key, const char *a, const char *b, const char *c = nullptr)
{
    return member_is(j, key, a) || member_is(j, key, b) || (c != nullptr && member_is(j, key, c));
}

// The ? operator (jsonb_exists): a key of an object, or a string element of an array (a raw
// scalar is a one-element array to it, as to jsonb_exists).
bool has_key(Jsonb *j, const char *key)
{
    JsonbValue k;
    k.type = jbvString;
    k.val.string.val = const_cast<char *>(key);
    k.val.string.len = static_cast<int>(strlen(key));
    return findJsonbValueFromContainer(&j->root, JB_FOBJECT | JB_FARRAY, &k) != nullptr;
}

// The - operator with a text key (jsonb_delete), its errors included. Where there is nothing
// to delete the value is its own answer: jsonb_delete would rebuild an equal copy, and most
// records carry none of the keys stripped (a stored record has no muutosattribuutti, an open
// one no loppupv). A scalar goes on to jsonb_delete, whose error it gets.
Jsonb *without(Jsonb *j, const char *key)
{
    if (!JB_ROOT_IS_SCALAR(j) && !has_key(j, key))
        return j;
    return DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(j), CStringGetTextDatum(key)));
}

// g stripped: g - 'muutosattribuutti' - 'voimassaolevatTiedot'.
Jsonb *stripped(Jsonb *g)
{
    return without(without(g, "muutosattribuutti"), "voimassaolevatTiedot");
}

bool same_jsonb(Jsonb *a, Jsonb *b)
{
    return compareJsonbContainers(&a->root, &b->root) == 0;
}

// A value to push as an array element: a container by reference (pushJsonbValue unpacks it,
// a raw scalar included).
JsonbValue as_element(Jsonb *j)
{
    JsonbValue v;
    v.type = jbvBinary;
    v.val.binary.data = &j->root;
    v.val.binary.len = static_cast<int>(VARSIZE(j) - VARHDRSZ);
    return v;
}

// The elements of an array, as jsonb_array_elements reads them (its errors on another type).
// Returns the count; *out is palloc'd.
int array_elements(Jsonb *arr, JsonbValue **out)
{
    if (JB_ROOT_IS_SCALAR(arr))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("cannot extract elements from a scalar")));
    if (JB_ROOT_IS_OBJECT(arr))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("cannot extract elements from an object")));
    int n = static_cast<int>(JB_ROOT_COUNT(arr));
    JsonbValue *values = static_cast<JsonbValue *>(palloc(sizeof(JsonbValue) * (n > 0 ? n : 1)));
    JsonbIterator *it = JsonbIteratorInit(&arr->root);
    JsonbValue v;
    JsonbIteratorToken tok;
    int i = 0;
    while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
        if (tok == WJB_ELEM && i < n)
            values[i++] = v;
    }
    *out = values;
    return i;
}

Jsonb *empty_array()
{
    JsonbParseState *state = nullptr;
    pushJsonbValue(&state, WJB_BEGIN_ARRAY, nullptr);
    return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, nullptr));
}

// An array of the given elements; `replace_at` >= 0 puts `replacement` in that place, and
// `append` (if not null) goes at the end.
Jsonb *build_array(JsonbValue *elements, int n, bool *keep, int replace_at, Jsonb *replacement, Jsonb *append)
{
    JsonbParseState *state = nullptr;
    pushJsonbValue(&state, WJB_BEGIN_ARRAY, nullptr);
    for (int i = 0; i < n; i++) {
        if (keep != nullptr && !keep[i])
            continue;
        if (i == replace_at) {
            JsonbValue r = as_element(replacement);
            pushJsonbValue(&state, WJB_ELEM, &r);
        } else {
            pushJsonbValue(&state, WJB_ELEM, &elements[i]);
        }
    }
    if (append != nullptr) {
        JsonbValue a = as_element(append);
        pushJsonbValue(&state, WJB_ELEM, &a);
    }
    return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, nullptr));
}

// vtj_internal.is_marker (extension/20_02_helpers.sql): turvakiellonAlaisetKentat and no other
// key but tietoryhma and muutosattribuutti.
bool is_marker(Jsonb *g)
{
    if (!has_key(g, "turvakiellonAlaisetKentat"))
        return false;
    if (JB_ROOT_IS_SCALAR(g))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("cannot delete from scalar")));
    if (!JB_ROOT_IS_OBJECT(g))
        return false;  // an array less some strings is never the empty object
    JsonbIterator *it = JsonbIteratorInit(&g->root);
    JsonbValue v;
    JsonbIteratorToken tok;
    while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
        if (tok != WJB_KEY)
            continue;
        static const char *const kept[] = {"tietoryhma", "muutosattribuutti", "turvakiellonAlaisetKentat"};
        bool allowed = false;
        for (const char *k : kept) {
            if (static_cast<size_t>(v.val.string.len) == strlen(k) && memcmp(v.val.string.val, k, strlen(k)) == 0)
                allowed = true;
        }
        if (!allowed)
            return false;
    }
    return true;
}

// Rule 1: the list becomes the records of voimassaolevatTiedot, stripped ([] unless an array).
Jsonb *valid_records(Jsonb *g)
{
    JsonbValue container;
    if (!JB_ROOT_IS_OBJECT(g))  // g->'voimassaolevatTiedot' of an array or a scalar is NULL
        return empty_array();
    if (getKeyJsonValueFromContainer(&g->root, "voimassaolevatTiedot", 20, &container) == nullptr ||
        container.type != jbvBinary || !JsonContainerIsArray(container.val.binary.data))
        return empty_array();
    Jsonb *arr = JsonbValueToJsonb(&container);
    JsonbValue *elements;
    int n = array_elements(arr, &elements);
    for (int i = 0; i < n; i++)
        elements[i] = as_element(stripped(JsonbValueToJsonb(&elements[i])));
    return build_array(elements, n, nullptr, -1, nullptr, nullptr);
}

// Rules 3, 4, 5: only the record g closes goes (the same record: equal but for loppupv).
Jsonb *without_closed(Jsonb *tila, Jsonb *g)
{
    Jsonb *closed = without(stripped(g), "loppupv");
    JsonbValue *elements;
    int n = array_elements(tila, &elements);
    bool *keep = static_cast<bool *>(palloc(sizeof(bool) * (n > 0 ? n : 1)));
    for (int i = 0; i < n; i++)
        keep[i] = !same_jsonb(without(JsonbValueToJsonb(&elements[i]), "loppupv"), closed);
    return build_array(elements, n, keep, -1, nullptr, nullptr);
}

// Rule 6 in a multi-valued group: the record replaces the same record, or goes at the end.
Jsonb *with_record(Jsonb *tila, Jsonb *rec)
{
    Jsonb *key = without(rec, "loppupv");
    JsonbValue *elements;
    int n = array_elements(tila, &elements);
    for (int i = 0; i < n; i++) {
        if (same_jsonb(without(JsonbValueToJsonb(&elements[i]), "loppupv"), key))
            return build_array(elements, n, nullptr, i, rec, nullptr);
    }
    return build_array(elements, n, nullptr, -1, nullptr, rec);
}

}  // namespace

VTJ_PG_FUNCTION(vtj_apply_step)
{
    Jsonb *tila = PG_ARGISNULL(0) ? nullptr : PG_GETARG_JSONB_P(0);
    Jsonb *g = PG_ARGISNULL(1) ? nullptr : PG_GETARG_JSONB_P(1);
    // NOT moni is NULL when moni is: the CASE then takes the multi-valued branch, as the SQL did
    bool moni = PG_ARGISNULL(2) ? true : PG_GETARG_BOOL(2);
    Jsonb *current = tila != nullptr ? tila : empty_array();  // coalesce(tila, '[]')

    if (g == nullptr)
        PG_RETURN_JSONB_P(current);
    // rule 1: the valid records are given: they are the list
    if (has_key(g, "voimassaolevatTiedot"))
        PG_RETURN_JSONB_P(valid_records(g));
    // rule 7: a value exists but is withheld: forget what we had
    if (is_marker(g))
        PG_RETURN_JSONB_P(empty_array());
    // rule 2: context only
    if (member_is(g, "muutosattribuutti", "LISATIETO"))
        PG_RETURN_JSONB_P(current);
    // rule 8: the PASSIIVI record of a hetu correction describes the hetu given up
    if (member_is(g, "tietoryhma", "HENKILOTUNNUS_KORJAUS") && member_is(g, "voimassaolo", "PASSIIVI"))
        PG_RETURN_JSONB_P(current);
    // rules 3, 4, 5: the record ends / is being corrected / is removed
    if (member_is_any(g, "muutosattribuutti", "KORJATTAVA", "POISTETTU") ||
        (member_is(g, "muutosattribuutti", "MUUTETTU") && has_key(g, "loppupv")))
        PG_RETURN_JSONB_P(without_closed(current, g));
    // rule 6: the new current value
    if (member_is_any(g, "muutosattribuutti", "LISATTY", "KORJATTU", "MUUTETTU")) {
        Jsonb *rec = stripped(g);
        if (!moni) {
            JsonbValue r = as_element(rec);
            PG_RETURN_JSONB_P(build_array(&r, 1, nullptr, -1, nullptr, nullptr));
        }
        PG_RETURN_JSONB_P(with_record(current, rec));
    }
    // an attribute nobody knows yet: no rule, no effect
    PG_RETURN_JSONB_P(current);
}
