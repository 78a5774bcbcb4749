// libFuzzer target: JsonDecoder::decode_kirjausavain (GET /kirjausavain/{day}). Accepted only
// when the reference reader finds valid JSON whose top-level object has viimeisinKirjausavain
// once, as an integer literal that fits 64 bits, and the decoder returns exactly that number;
// refused with vtj::Error(BadResponse) without a hetu in its texts otherwise.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string original(reinterpret_cast<const char *>(data), size);
    std::string body = original;
    vtj::JsonDecoder decoder;
    std::int64_t bookmark = 0;
    try {
        bookmark = decoder.decode_kirjausavain(body, "GET /kirjausavain");
    } catch (const vtj::Error &e) {
        fuzz::check_error(e);
        return 0;
    }
    FUZZ_CHECK(body == original);
    std::vector<fuzz::RefToken> ref;
    FUZZ_CHECK(fuzz::RefJson::read(original, &ref));
    FUZZ_CHECK(!ref.empty() && ref.front().kind == vtj::JsonToken::Kind::BeginObject);
    int found = 0;
    for (const auto &m : fuzz::top_members(ref)) {
        if (m.first != "viimeisinKirjausavain")
            continue;
        ++found;
        long long n = 0;
        FUZZ_CHECK(fuzz::int64_literal(ref[m.second], n) && n == bookmark);
    }
    FUZZ_CHECK(found == 1);
    return 0;
}
