// Internal to VTJkysely (kysely*.cpp): the errors both the HTTP driver and the parser raise.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace vtj::kysely::detail {

// Text safe for an error: hetus redacted, credentials scrubbed, control characters and invalid
// UTF-8 replaced, at most `max` bytes.
std::string clean(std::string_view text, const std::vector<std::string> &secrets, std::size_t max = 900);

// A SOAP fault (Body/Fault, or a non-empty faultCode/faultString in the answer). `fault` is
// "faultcode: faultstring". HV000; an authentication failure gets a hint about the user mapping.
Error fault_error(std::string_view fault, const std::vector<std::string> &secrets);

// A Paluukoodi other than 0000/0001/0002: its code and text (hetus redacted). HV000.
Error paluukoodi_error(std::string_view koodi, std::string_view text, const std::vector<std::string> &secrets);

// True when a fault's or Paluukoodi's text says the credentials were refused.
bool looks_like_auth_failure(std::string_view text) noexcept;

}  // namespace vtj::kysely::detail
