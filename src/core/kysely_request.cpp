// VTJkysely requests: X-Road identifiers, XML escaping, the SOAP envelope, the HTTP request
// (kysely.hpp).
#include "core/kysely.hpp"

#include <cstdio>
#include <random>

#include "core/error.hpp"

namespace vtj::kysely {

namespace {

std::vector<std::string> split_slash(std::string_view text)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = text.find('/', start);
        parts.emplace_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    return parts;
}

bool all_nonempty(const std::vector<std::string> &parts)
{
    for (const std::string &p : parts)
        if (p.empty())
            return false;
    return true;
}

// Length of the UTF-8 sequence starting at s[i] when it is valid and a character XML 1.0 can
// carry; 0 otherwise.
std::size_t xml_char_length(std::string_view s, std::size_t i) noexcept
{
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80)
        return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (s.size() - i < n)
        return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    static const std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

void element(std::string &out, const char *name, std::string_view value, const char *field)
{
    out += '<';
    out += name;
    out += '>';
    out += xml_escape(value, field);
    out += "</";
    out += name;
    out += '>';
}

// The ids an X-Road client and the service it calls share, in the schema's order (the
// option named is the one whose text they came from).
template <typename Ids>
void member_ids(std::string &x, const Ids &ids, const char *option)
{
    element(x, "id:xRoadInstance", ids.instance, option);
    element(x, "id:memberClass", ids.member_class, option);
    element(x, "id:memberCode", ids.member_code, option);
    element(x, "id:subsystemCode", ids.subsystem, option);
}

}  // namespace

XroadClient parse_xroad_client(std::string_view text)
{
    std::vector<std::string> p = split_slash(text);
    if (p.size() != 4 || !all_nonempty(p))
        throw Error(ErrorKind::InvalidValue, "option xroad_client must have the form instance/memberClass/memberCode/subsystem",
                    {}, "For example FI/MUN/0123456-7/vtjkysely-client: your organisation's X-Road subsystem.");
    return {p[0], p[1], p[2], p[3]};
}

XroadService parse_xroad_service(std::string_view text)
{
    std::vector<std::string> p = split_slash(text);
    if ((p.size() != 5 && p.size() != 6) || !all_nonempty(p))
        throw Error(ErrorKind::InvalidValue,
                    "option kysely_palvelu must have the form instance/memberClass/memberCode/subsystem/serviceCode[/serviceVersion]",
                    {}, std::string("The default is ") + kDefaultPalvelu + ".");
    XroadService s{p[0], p[1], p[2], p[3], p[4], p.size() == 6 ? p[5] : std::string()};
    return s;
}

std::string xml_escape(std::string_view text, const char *field)
{
    std::string out;
    out.reserve(text.size() + 16);
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = xml_char_length(text, i);
        if (n == 0)
            throw Error(ErrorKind::InvalidValue,
                        std::string("the VTJkysely request field ") + field +
                            " contains a character XML cannot carry (a control character or invalid UTF-8)");
        if (n == 1) {
            switch (text[i]) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            case '\r': out += "&#13;"; break;  // a literal CR would be normalised away
            default: out += text[i]; break;
            }
        } else {
            out.append(text.data() + i, n);
        }
        i += n;
    }
    return out;
}

std::string new_request_id()
{
    std::random_device rd;  // /dev/urandom: distinct across forked backends
    unsigned char b[16];
    for (int i = 0; i < 16; i += 4) {
        const std::uint32_t v = rd();
        b[i] = static_cast<unsigned char>(v);
        b[i + 1] = static_cast<unsigned char>(v >> 8);
        b[i + 2] = static_cast<unsigned char>(v >> 16);
        b[i + 3] = static_cast<unsigned char>(v >> 24);
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

void validate(const RequestSettings &s)
{
    if (s.url.empty())
        throw Error(ErrorKind::InvalidValue, "the foreign server has no option \"kysely_url\"", {},
                    "Give the server the VTJkysely SOAP endpoint (normally your own X-Road security server) as kysely_url.");
    parse_xroad_service(s.palvelu);
    if (!s.xroad_client.empty())
        parse_xroad_client(s.xroad_client);
    // Escaping throws for what XML cannot carry: find it now, before any request.
    xml_escape(s.palvelu, "kysely_palvelu");
    xml_escape(s.xroad_client, "xroad_client");
    xml_escape(s.soso_nimi, "SoSoNimi (option soso_nimi)");
    xml_escape(s.username, "Kayttajatunnus (the user mapping's username)");
    xml_escape(s.password, "Salasana (the user mapping's password)");
    xml_escape(s.loppukayttaja, "Loppukayttaja (setting vtj.loppukayttaja)");
}

std::string build_envelope(const RequestSettings &s, std::string_view hetu, std::string_view request_id)
{
    std::string x;
    x.reserve(2048);
    x += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
         "xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\" xmlns:id=\"http://x-road.eu/xsd/identifiers\">";
    if (!s.xroad_client.empty()) {
        const XroadClient c = parse_xroad_client(s.xroad_client);
        const XroadService v = parse_xroad_service(s.palvelu);
        x += "<SOAP-ENV:Header>";
        x += "<xrd:client id:objectType=\"SUBSYSTEM\">";
        member_ids(x, c, "xroad_client");
        x += "</xrd:client>";
        x += "<xrd:service id:objectType=\"SERVICE\">";
        member_ids(x, v, "kysely_palvelu");
        element(x, "id:serviceCode", v.service_code, "kysely_palvelu");
        if (!v.service_version.empty())
            element(x, "id:serviceVersion", v.service_version, "kysely_palvelu");
        x += "</xrd:service>";
        element(x, "xrd:id", request_id, "id");
        element(x, "xrd:userId", s.loppukayttaja, "Loppukayttaja (setting vtj.loppukayttaja)");
        x += "<xrd:protocolVersion>4.0</xrd:protocolVersion>";
        x += "</SOAP-ENV:Header>";
    }
    x += "<SOAP-ENV:Body><HenkilonTunnusKysely xmlns=\"";
    x += kRequestNamespace;
    x += "\"><request>";
    element(x, "SoSoNimi", s.soso_nimi, "SoSoNimi (option soso_nimi)");
    element(x, "Kayttajatunnus", s.username, "Kayttajatunnus (the user mapping's username)");
    element(x, "Salasana", s.password, "Salasana (the user mapping's password)");
    element(x, "Loppukayttaja", s.loppukayttaja, "Loppukayttaja (setting vtj.loppukayttaja)");
    element(x, "Henkilotunnus", hetu, "Henkilotunnus");
    x += "</request></HenkilonTunnusKysely></SOAP-ENV:Body></SOAP-ENV:Envelope>";
    return x;
}

HttpRequest build_request(const RequestSettings &s, std::string_view hetu, std::uint64_t tag)
{
    HttpRequest r;
    r.method = HttpRequest::Method::Post;
    r.url = s.url;
    r.body = build_envelope(s, hetu, new_request_id());
    r.content_type = "text/xml; charset=utf-8";
    r.accept = "text/xml";
    r.extra_headers.push_back("SOAPAction: \"\"");
    r.what = "HenkilonTunnusKysely";
    r.tag = tag;
    return r;
}

}  // namespace vtj::kysely
