// Request bodies of VTJ-muutosrajapinta (docs/interface.md#post-muutokset, #post-perustiedot): compact JSON, built by hand.
// PostgreSQL-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vtj {

// {"viimeisinKirjausavain":N,"hetulista":["…",…]} for hetus[begin, end).
std::string muutokset_request(std::int64_t bookmark, const std::vector<std::string> &hetus, std::size_t begin,
                              std::size_t end);
// {"hetulista":[…]} plus "tietoryhmat":[…] when `tietoryhmat` is not empty.
std::string perustiedot_request(const std::vector<std::string> &hetus, std::size_t begin, std::size_t end,
                                const std::vector<std::string> &tietoryhmat);

}  // namespace vtj
