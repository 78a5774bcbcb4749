// libFuzzer target: kysely::parse_answer(), the reader of a VTJkysely SOAP answer (libxml2).
// Kept small on purpose (the VTJkysely code is changing): whatever the bytes,
//  * the only exception is vtj::Error, whose texts hold no hetu and not the credential;
//  * an answer read as censored (turvakielto, or its state unknown) serialises no element that
//    names an address, a municipality or a post office into `vastaus`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/kysely.hpp"
#include "fuzz_common.hpp"

namespace {

// The credential the test passes (the dictionary has it, so the fuzzer puts it in answers).
const std::string kSecret = "Zq7#pW%Ym9";

// Local names of the elements of serialised XML, lowercased.
std::vector<std::string> element_names(std::string_view xml)
{
    std::vector<std::string> out;
    for (std::size_t i = xml.find('<'); i != std::string_view::npos; i = xml.find('<', i + 1)) {
        std::size_t j = i + 1;
        if (j < xml.size() && (xml[j] == '/' || xml[j] == '!' || xml[j] == '?'))
            continue;
        std::string name;
        while (j < xml.size() && xml[j] != '>' && xml[j] != '/' && xml[j] != ' ' && xml[j] != '\t' &&
               xml[j] != '\n' && xml[j] != '\r') {
            const char c = xml[j++];
            if (c == ':')
                name.clear();  // the prefix
            else
                name += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
        }
        out.push_back(name);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char *>(data), size);
    vtj::kysely::Answer a;
    try {
        a = vtj::kysely::parse_answer(body, {kSecret});
    } catch (const vtj::Error &e) {
        for (const char *t : {e.what(), e.detail().c_str(), e.hint().c_str()}) {
            FUZZ_CHECK(fuzz::hetu_free(t));
            FUZZ_CHECK(std::string_view(t).find(kSecret) == std::string_view::npos);
        }
        return 0;
    }
    if (a.censored)
        for (const std::string &name : element_names(a.vastaus))
            FUZZ_CHECK(name.find("osoite") == std::string::npos && name.find("kunta") == std::string::npos &&
                       name.find("posti") == std::string::npos);
    return 0;
}
