#include "pg/jsonb_tokens.hpp"

namespace vtj::pg {

namespace {

// The decoder refuses values nested deeper than 128 levels below a group; the grouped array
// adds one level.
constexpr int kMaxDepth = 160;

Numeric numeric_of(std::string_view text)
{
    char local[64];
    char *s = text.size() < sizeof local ? local : (char *)palloc(text.size() + 1);
    memcpy(s, text.data(), text.size());
    s[text.size()] = '\0';
    return DatumGetNumeric(
        DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

}  // namespace

Datum jsonb_from_tokens(const vtj::JsonToken *t, std::size_t n)
{
    using Kind = vtj::JsonToken::Kind;
    JsonbParseState *state = nullptr;
    JsonbValue *result = nullptr;
    bool in_object[kMaxDepth];  // per open container: an object (scalars are values) or an array
    int depth = 0;
    for (std::size_t i = 0; i < n; ++i) {
        JsonbValue v;
        switch (t[i].kind) {
        case Kind::BeginObject:
        case Kind::BeginArray:
            if (depth >= kMaxDepth)
                elog(ERROR, "vtj_fdw: a data group nests too deep");
            in_object[depth++] = t[i].kind == Kind::BeginObject;
            result = pushJsonbValue(&state, t[i].kind == Kind::BeginObject ? WJB_BEGIN_OBJECT : WJB_BEGIN_ARRAY, nullptr);
            continue;
        case Kind::EndObject:
        case Kind::EndArray:
            --depth;
            result = pushJsonbValue(&state, t[i].kind == Kind::EndObject ? WJB_END_OBJECT : WJB_END_ARRAY, nullptr);
            continue;
        case Kind::Key:
            v.type = jbvString;
            v.val.string.val = const_cast<char *>(t[i].text.data());
            v.val.string.len = static_cast<int>(t[i].text.size());
            result = pushJsonbValue(&state, WJB_KEY, &v);
            continue;
        case Kind::String:
            v.type = jbvString;
            v.val.string.val = const_cast<char *>(t[i].text.data());
            v.val.string.len = static_cast<int>(t[i].text.size());
            break;
        case Kind::Number:
            v.type = jbvNumeric;
            v.val.numeric = numeric_of(t[i].text);
            break;
        case Kind::True:
        case Kind::False:
            v.type = jbvBool;
            v.val.boolean = t[i].kind == Kind::True;
            break;
        case Kind::Null:
            v.type = jbvNull;
            break;
        }
        if (depth == 0)
            elog(ERROR, "vtj_fdw: a bare scalar where a data group was expected");
        result = pushJsonbValue(&state, in_object[depth - 1] ? WJB_VALUE : WJB_ELEM, &v);
    }
    if (depth != 0 || result == nullptr)
        elog(ERROR, "vtj_fdw: an incomplete data group");
    return JsonbPGetDatum(JsonbValueToJsonb(result));
}

}  // namespace vtj::pg
