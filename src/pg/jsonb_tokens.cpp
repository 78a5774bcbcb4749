#include "pg/jsonb_tokens.hpp"

#include <algorithm>
#include <cstring>

namespace vtj::pg {

namespace {

// The decoder refuses values nested deeper than 128 levels below a group; the grouped array
// adds one level.
constexpr int kMaxDepth = 160;
constexpr int kFirstCapacity = 8;

Numeric numeric_of(std::string_view text)
{
    char local[64];
    char *s = text.size() < sizeof local ? local : (char *)palloc(text.size() + 1);
    memcpy(s, text.data(), text.size());
    s[text.size()] = '\0';
    return DatumGetNumeric(
        DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

void set_string(JsonbValue *v, std::string_view s)
{
    v->type = jbvString;
    v->val.string.val = const_cast<char *>(s.data());
    v->val.string.len = static_cast<int>(s.size());
}

// An open container: its value (a slot of its parent, or the root), the room of its array and,
// for an object, whether its last key still waits for its value.
struct Frame {
    JsonbValue *v;
    int capacity;
    bool want_value;
};

void open_container(Frame &f, JsonbValue *slot, bool object)
{
    f.v = slot;
    f.capacity = kFirstCapacity;
    f.want_value = false;
    if (object) {
        slot->type = jbvObject;
        slot->val.object.nPairs = 0;
        slot->val.object.pairs = static_cast<JsonbPair *>(palloc(sizeof(JsonbPair) * kFirstCapacity));
    } else {
        slot->type = jbvArray;
        slot->val.array.nElems = 0;
        slot->val.array.rawScalar = false;
        slot->val.array.elems = static_cast<JsonbValue *>(palloc(sizeof(JsonbValue) * kFirstCapacity));
    }
}

template <typename T>
T *grow(T *items, int count, int &capacity)
{
    if (count < capacity)
        return items;
    capacity *= 2;
    return static_cast<T *>(repalloc(items, sizeof(T) * capacity));
}

// jsonb's key order: shorter first, then bytewise; of equal keys the later one first, so that
// keeping the first of each run keeps the last value (as pushJsonbValue's uniqueify does).
bool key_before(const JsonbPair &a, const JsonbPair &b)
{
    const int la = a.key.val.string.len, lb = b.key.val.string.len;
    if (la != lb)
        return la < lb;
    const int c = memcmp(a.key.val.string.val, b.key.val.string.val, la);
    return c != 0 ? c < 0 : a.order > b.order;
}

bool same_key(const JsonbPair &a, const JsonbPair &b)
{
    return a.key.val.string.len == b.key.val.string.len &&
           memcmp(a.key.val.string.val, b.key.val.string.val, a.key.val.string.len) == 0;
}

// An object closed: its pairs in jsonb's order, one per key. (The decoder hands the keys of a
// record in the interface's order; sorted here with an inlined comparison instead of
// pushJsonbValue's qsort through a function pointer, a quarter of a scan's time.)
void close_object(JsonbValue *v)
{
    JsonbPair *p = v->val.object.pairs;
    const int n = v->val.object.nPairs;
    std::sort(p, p + n, key_before);
    int kept = n > 0 ? 1 : 0;
    for (int i = 1; i < n; ++i)
        if (!same_key(p[i], p[kept - 1]))
            p[kept++] = p[i];
    v->val.object.nPairs = kept;
}

}  // namespace

// The value is built as a tree of JsonbValues (as pushJsonbValue would build it) and converted
// once. A nested container's slot lies in its parent's array, which does not grow while the
// child is open: the parent takes its next key or element only after the child is closed.
Datum jsonb_from_tokens(const vtj::JsonToken *t, std::size_t n)
{
    using Kind = vtj::JsonToken::Kind;
    JsonbValue root;
    bool have_root = false;
    Frame open_frames[kMaxDepth];
    int depth = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const Kind kind = t[i].kind;
        if (kind == Kind::EndObject || kind == Kind::EndArray) {
            if (depth == 0)
                elog(ERROR, "vtj_fdw: an incomplete data group");
            if (kind == Kind::EndObject) {
                if (open_frames[depth - 1].want_value)
                    elog(ERROR, "vtj_fdw: an incomplete data group");
                close_object(open_frames[depth - 1].v);
            }
            --depth;
            continue;
        }
        if (depth == 0 && (have_root || (kind != Kind::BeginObject && kind != Kind::BeginArray)))
            elog(ERROR, "vtj_fdw: a bare scalar where a data group was expected");
        // the slot this token's value goes to
        JsonbValue *slot;
        if (depth == 0) {
            slot = &root;
            have_root = true;
        } else {
            Frame &f = open_frames[depth - 1];
            if (f.v->type == jbvObject) {
                int &np = f.v->val.object.nPairs;
                // (keys and values alternate: a key after a key, or a value without one, is refused)
                if ((kind == Kind::Key) == f.want_value)
                    elog(ERROR, "vtj_fdw: an incomplete data group");
                f.want_value = kind == Kind::Key;
                if (kind == Kind::Key) {
                    f.v->val.object.pairs = grow(f.v->val.object.pairs, np, f.capacity);
                    JsonbPair &pair = f.v->val.object.pairs[np];
                    set_string(&pair.key, t[i].text);
                    pair.order = static_cast<uint32>(np);
                    ++np;
                    continue;
                }
                slot = &f.v->val.object.pairs[np - 1].value;
            } else {
                if (kind == Kind::Key)
                    elog(ERROR, "vtj_fdw: an incomplete data group");
                int &ne = f.v->val.array.nElems;
                f.v->val.array.elems = grow(f.v->val.array.elems, ne, f.capacity);
                slot = &f.v->val.array.elems[ne++];
            }
        }
        switch (kind) {
        case Kind::BeginObject:
        case Kind::BeginArray:
            if (depth >= kMaxDepth)
                elog(ERROR, "vtj_fdw: a data group nests too deep");
            open_container(open_frames[depth++], slot, kind == Kind::BeginObject);
            break;
        case Kind::String:
            set_string(slot, t[i].text);
            break;
        case Kind::Number:
            slot->type = jbvNumeric;
            slot->val.numeric = numeric_of(t[i].text);
            break;
        case Kind::True:
        case Kind::False:
            slot->type = jbvBool;
            slot->val.boolean = kind == Kind::True;
            break;
        case Kind::Null:
            slot->type = jbvNull;
            break;
        default:
            elog(ERROR, "vtj_fdw: an incomplete data group");
        }
    }
    if (depth != 0 || !have_root)
        elog(ERROR, "vtj_fdw: an incomplete data group");
    return JsonbPGetDatum(JsonbValueToJsonb(&root));
}

}  // namespace vtj::pg
