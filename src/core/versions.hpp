// Versions of the libraries the core links, for vtj.versio() and bug reports.
#pragma once

#include <string>

namespace vtj {

// "libcurl 7.88.1 (OpenSSL/3.0.x)"
std::string libcurl_version();
// "libxml2 2.9.14"
std::string libxml2_version();

}  // namespace vtj
