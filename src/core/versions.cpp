#include "core/versions.hpp"

#include <curl/curl.h>
#include <libxml/parser.h>

namespace vtj {

std::string libcurl_version()
{
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    std::string s = "libcurl ";
    s += info && info->version ? info->version : "unknown";
    s += " (";
    s += info && info->ssl_version ? info->ssl_version : "no TLS";
    s += ")";
    return s;
}

std::string libxml2_version()
{
    // xmlParserVersion is the runtime library's version as "20914"; render it as 2.9.14.
    const int v = std::stoi(xmlParserVersion);
    return "libxml2 " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
           std::to_string(v % 100);
}

}  // namespace vtj
