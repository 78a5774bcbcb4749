// Reading a VTJkysely answer with libxml2 (kysely.hpp: parse_answer, parse_yyyymmdd).
//
// libxml2 safety: the document is parsed from memory with XML_PARSE_NONET and without
// XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_XINCLUDE and XML_PARSE_HUGE (so libxml2's
// default limits hold: 256 levels of nesting, 10 MB of text in one node); a DOCTYPE stops the
// parser in its internalSubset callback, before the internal subset (where entities are
// declared) is read. Before libxml2 sees a byte, check_encoding() refuses an answer that is
// not UTF-8 (or ISO-8859-1 labelled as such): a UTF-16/32 byte order mark, another encoding
// label, invalid UTF-8, and ISO-8859-1 labelled bytes that are in fact UTF-8. After parsing,
// check_tree() refuses XInclude elements and attributes, entity references and attribute values
// over kMaxAttributeBytes.
//
// No byte of an answer in an error: parse errors name libxml2's error number, line and column,
// never libxml2's message (which quotes element and entity names and, for bad encodings, the
// offending bytes); encoding errors name a byte offset.
//
// Turvakielto fails closed: only a single TurvakieltoTieto whose whole text is "0" means "not
// protected"; "1", empty, missing, duplicated or anything else means protected. A protected
// person's vastaus is rebuilt from kShownWhenProtected (an allowlist of element paths and
// attributes): only those elements, in the answer message's namespace, their listed attributes
// and the plain text of the leaves are copied; comments, processing instructions, CDATA,
// unlisted attributes and every other element (whatever it is called) are left out.
// Both callbacks installed here are per-parser-context, noexcept, and only record: no throw, no
// allocation that can fail loudly, nothing of PostgreSQL. The global error handler (PostgreSQL's,
// set by pg_xml_init) is not used for parse errors: the context's own serror takes them, and the
// message is read from the context afterwards. xmlCleanupParser() is never called.
#include "core/kysely.hpp"

#include <cstring>
#include <memory>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "core/error.hpp"
#include "core/kysely_detail.hpp"
#include "core/dates.hpp"

namespace vtj::kysely {

namespace {

struct DocFree {
    void operator()(xmlDocPtr d) const noexcept { xmlFreeDoc(d); }
};
struct CtxtFree {
    void operator()(xmlParserCtxtPtr c) const noexcept { xmlFreeParserCtxt(c); }
};
struct BufferFree {
    void operator()(xmlBufferPtr b) const noexcept { xmlBufferFree(b); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

// What the callbacks saw during one parse.
struct ParseState {
    bool doctype = false;
};

void on_internal_subset(void *ctx, const xmlChar *, const xmlChar *, const xmlChar *) noexcept
{
    xmlParserCtxtPtr ctxt = static_cast<xmlParserCtxtPtr>(ctx);
    if (ctxt->_private)
        static_cast<ParseState *>(ctxt->_private)->doctype = true;
    xmlStopParser(ctxt);  // before the internal subset: no entity is ever declared
}

// Parse errors stay in the context (ctxt->lastError); nothing is printed or raised here.
void on_structured_error(void *, xmlErrorPtr) noexcept {}

Error bad(const std::string &message, const std::string &detail = {}, const std::string &hint = {})
{
    return Error(ErrorKind::BadResponse, message, detail, hint);
}

const char *kHintEndpoint = "Check that the server option kysely_url points to VTJkysely (normally through your X-Road security server).";

constexpr std::size_t kMaxAttributeBytes = 64u << 10;  // VTJ's attributes are codes and short texts

std::string lower_ascii(std::string_view t)
{
    std::string out(t);
    for (char &c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c + ('a' - 'A'));
    return out;
}

// The offset of the first byte that is not part of valid UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF), or npos.
std::size_t invalid_utf8_at(std::string_view t) noexcept
{
    const auto *p = reinterpret_cast<const unsigned char *>(t.data());
    const std::size_t n = t.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else
            return i;
        if (i + len > n)
            return i;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (std::size_t k = 2; k < len; ++k)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF)
                return i;
        i += len;
    }
    return std::string_view::npos;
}

// Refuses an answer whose bytes are not what the XML declaration says, or say something other
// than UTF-8 / ISO-8859-1. Errors name offsets, never bytes.
void check_encoding(std::string_view body)
{
    const auto *u = reinterpret_cast<const unsigned char *>(body.data());
    std::string_view rest = body;
    if (body.size() >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE) || u[0] == 0 || u[1] == 0))
        throw bad("VTJkysely's answer is not UTF-8 (it begins like UTF-16 or UTF-32)", {}, kHintEndpoint);
    if (body.size() >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        rest.remove_prefix(3);
    std::string label;
    if (rest.compare(0, 5, "<?xml") == 0) {
        const std::size_t end = rest.find("?>");
        if (end == std::string_view::npos || end > 1024)
            throw bad("VTJkysely's answer has an unterminated XML declaration", {}, kHintEndpoint);
        const std::string_view decl = rest.substr(0, end);
        const std::size_t at = decl.find("encoding");
        if (at != std::string_view::npos) {
            std::size_t q = decl.find_first_of("\"'", at);
            if (q == std::string_view::npos)
                throw bad("VTJkysely's answer has an unreadable encoding in its XML declaration", {}, kHintEndpoint);
            const std::size_t q2 = decl.find(decl[q], q + 1);
            if (q2 == std::string_view::npos)
                throw bad("VTJkysely's answer has an unreadable encoding in its XML declaration", {}, kHintEndpoint);
            label = lower_ascii(decl.substr(q + 1, q2 - q - 1));
        }
    }
    const bool latin1 = label == "iso-8859-1" || label == "latin1" || label == "iso_8859-1" || label == "latin-1";
    if (!label.empty() && label != "utf-8" && label != "utf8" && !latin1)
        throw bad("VTJkysely's answer declares an encoding other than UTF-8 or ISO-8859-1; it was refused unread", {},
                  kHintEndpoint);
    const std::size_t bad_at = invalid_utf8_at(body);
    if (!latin1 && bad_at != std::string_view::npos)
        throw bad("VTJkysely's answer is not valid UTF-8 (at byte " + std::to_string(bad_at) + ")", {}, kHintEndpoint);
    if (latin1 && bad_at == std::string_view::npos) {
        for (unsigned char c : body)
            if (c >= 0x80)
                throw bad("VTJkysely's answer is labelled ISO-8859-1 but its bytes are UTF-8; it was refused unread", {},
                          kHintEndpoint);
    }
}

bool is_xinclude(const xmlNs *ns) noexcept
{
    if (!ns || !ns->href)
        return false;
    const char *h = reinterpret_cast<const char *>(ns->href);
    return std::strcmp(h, "http://www.w3.org/2001/XInclude") == 0 || std::strcmp(h, "http://www.w3.org/2003/XInclude") == 0;
}

// What a well-formed answer still may not contain. Recursion is bounded by libxml2's depth limit.
void check_tree(xmlNodePtr n)
{
    for (xmlNodePtr c = n; c; c = c->next) {
        switch (c->type) {
        case XML_ELEMENT_NODE:
            if (is_xinclude(c->ns))
                throw bad("VTJkysely's answer contains an XInclude element; it was refused", {}, kHintEndpoint);
            for (xmlAttrPtr a = c->properties; a; a = a->next) {
                if (is_xinclude(a->ns))
                    throw bad("VTJkysely's answer contains an XInclude attribute; it was refused", {}, kHintEndpoint);
                std::size_t len = 0;
                for (xmlNodePtr t = a->children; t; t = t->next)
                    if (t->content)
                        len += std::strlen(reinterpret_cast<const char *>(t->content));
                if (len > kMaxAttributeBytes)
                    throw bad("VTJkysely's answer has an attribute value of " + std::to_string(len) +
                                  " bytes, more than vtj_fdw accepts (" + std::to_string(kMaxAttributeBytes) + ")",
                              {}, kHintEndpoint);
            }
            check_tree(c->children);
            break;
        case XML_ENTITY_REF_NODE:
        case XML_ENTITY_NODE:
        case XML_ENTITY_DECL:
        case XML_DTD_NODE:
        case XML_XINCLUDE_START:
        case XML_XINCLUDE_END:
            throw bad("VTJkysely's answer contains an entity reference or a DTD node; it was refused", {}, kHintEndpoint);
        default:
            break;
        }
    }
}

Doc parse_document(std::string_view body)
{
    if (body.empty())
        throw bad("VTJkysely's answer is empty", {}, kHintEndpoint);
    if (body.size() > static_cast<std::size_t>(INT32_MAX / 2))
        throw Error(ErrorKind::ResponseTooLarge, "VTJkysely's answer is too large to read");
    check_encoding(body);
    xmlInitParser();  // idempotent; PostgreSQL has normally done it already
    std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlCreateMemoryParserCtxt(body.data(), static_cast<int>(body.size())));
    if (!ctxt)
        throw std::bad_alloc();
    xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOWARNING);
    ParseState state;
    ctxt->_private = &state;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = nullptr;
    ctxt->sax->serror = on_structured_error;  // sax->initialized is XML_SAX2_MAGIC for a SAX2 context
    ctxt->vctxt.error = nullptr;
    ctxt->vctxt.warning = nullptr;

    xmlParseDocument(ctxt.get());
    Doc doc(ctxt->myDoc);
    ctxt->myDoc = nullptr;
    ctxt->_private = nullptr;

    if (state.doctype || (doc && (doc->intSubset || doc->extSubset)))
        throw bad("VTJkysely's answer contains a DOCTYPE declaration, which SOAP forbids; it was refused unread",
                  "A DTD can declare entities whose expansion exhausts memory (an entity-expansion attack); vtj_fdw never "
                  "reads one.",
                  kHintEndpoint);
    if (!doc || !ctxt->wellFormed) {
        // libxml2's message quotes the answer (names, entities, bytes): only its number and position.
        const xmlError &err = ctxt->lastError;
        std::string message = "VTJkysely's answer is not well-formed XML (libxml2 error " + std::to_string(err.code);
        if (err.line > 0)
            message += ", line " + std::to_string(err.line);
        if (err.int2 > 0)
            message += ", column " + std::to_string(err.int2);
        message += ")";
        throw bad(message, {}, kHintEndpoint);
    }
    check_tree(xmlDocGetRootElement(doc.get()));
    return doc;
}

bool is(xmlNodePtr n, const char *local) noexcept
{
    return n && n->type == XML_ELEMENT_NODE && n->name && std::strcmp(reinterpret_cast<const char *>(n->name), local) == 0;
}

xmlNodePtr child(xmlNodePtr parent, const char *local) noexcept
{
    if (!parent)
        return nullptr;
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (is(c, local))
            return c;
    return nullptr;
}

xmlNodePtr descendant(xmlNodePtr root, const char *local) noexcept
{
    if (!root)
        return nullptr;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is(c, local))
            return c;
        if (xmlNodePtr d = descendant(c, local))
            return d;
    }
    return nullptr;
}

std::string trim(std::string s)
{
    const char *ws = " \t\r\n";
    const std::size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos)
        return std::string();
    const std::size_t e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

// The element's text, trimmed.
std::string text_of(xmlNodePtr n)
{
    if (!n)
        return std::string();
    xmlChar *c = xmlNodeGetContent(n);
    if (!c)
        return std::string();
    std::string s(reinterpret_cast<const char *>(c));
    xmlFree(c);
    return trim(std::move(s));
}

std::string attribute(xmlNodePtr n, const char *name)
{
    xmlChar *v = n ? xmlGetProp(n, reinterpret_cast<const xmlChar *>(name)) : nullptr;
    if (!v)
        return std::string();
    std::string s(reinterpret_cast<const char *>(v));
    xmlFree(v);
    return trim(std::move(s));
}

// parent/name's text; NULL (nullopt) when missing or empty.
std::optional<std::string> value(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n = child(parent, name);
    if (!n)
        return std::nullopt;
    std::string s = text_of(n);
    if (s.empty())
        return std::nullopt;
    return s;
}

// The Finnish form, else the Swedish one ("S" / "R" elements).
std::optional<std::string> fi_or_sv(xmlNodePtr parent, const char *fi, const char *sv)
{
    std::optional<std::string> v = value(parent, fi);
    return v ? v : value(parent, sv);
}

std::optional<std::int32_t> date_value(xmlNodePtr parent, const char *name)
{
    std::int32_t days = 0;
    if (parse_yyyymmdd(text_of(child(parent, name)), days))
        return days;
    return std::nullopt;
}

// What a protected person's vastaus may show: element paths below VTJHenkiloVastaussanoma
// ("" is the message element itself) and "path@attribute". Everything else is left out. The
// list holds identity, the answer's own bookkeeping and the turvakielto itself (docs/interface.md#vtjkysely-soap-outline):
// no address, postal address, municipality, dwelling, residence, household, relative, guardian
// or citizenship element, and nothing DVV may add later until it is listed here.
const char *const kShownWhenProtected[] = {
    "@sanomatunnus", "@tietojenPoimintaaika", "@versio",
    "Asiakasinfo", "Asiakasinfo/InfoS", "Asiakasinfo/InfoR", "Asiakasinfo/InfoE",
    "Paluukoodi", "Paluukoodi@koodi",
    "Hakuperusteet", "Hakuperusteet/Henkilotunnus", "Hakuperusteet/Henkilotunnus@hakuperustePaluukoodi",
    "Hakuperusteet/Henkilotunnus@hakuperusteTekstiS", "Hakuperusteet/Henkilotunnus@hakuperusteTekstiR",
    "Hakuperusteet/Henkilotunnus@hakuperusteTekstiE",
    "Henkilo",
    "Henkilo/Henkilotunnus", "Henkilo/Henkilotunnus@voimassaolokoodi",
    "Henkilo/NykyinenSukunimi", "Henkilo/NykyinenSukunimi/Sukunimi",
    "Henkilo/NykyisetEtunimet", "Henkilo/NykyisetEtunimet/Etunimet",
    "Henkilo/Aidinkieli", "Henkilo/Aidinkieli/Kielikoodi", "Henkilo/Aidinkieli/KieliS", "Henkilo/Aidinkieli/KieliR",
    "Henkilo/Aidinkieli/KieliSelvakielinen",
    "Henkilo/Kuolintiedot", "Henkilo/Kuolintiedot/Kuollut", "Henkilo/Kuolintiedot/Kuolinpvm",
    "Henkilo/Turvakielto", "Henkilo/Turvakielto/TurvakieltoTieto", "Henkilo/Turvakielto/TurvakieltoPaattymispvm",
    "Henkilo/Sukupuoli", "Henkilo/Sukupuoli/Sukupuolikoodi", "Henkilo/Sukupuoli/SukupuoliS",
    "Henkilo/Sukupuoli/SukupuoliR",
};

bool shown(const std::string &path) noexcept
{
    for (const char *p : kShownWhenProtected)
        if (path == p)
            return true;
    return false;
}

// A listed element whose own children are not listed: its text is shown.
bool shown_leaf(const std::string &path) noexcept
{
    const std::string prefix = path + "/";
    for (const char *p : kShownWhenProtected)
        if (std::strncmp(p, prefix.c_str(), prefix.size()) == 0)
            return false;
    return true;
}

bool same_ns(const xmlNs *a, const xmlNs *b) noexcept
{
    const char *ha = a && a->href ? reinterpret_cast<const char *>(a->href) : "";
    const char *hb = b && b->href ? reinterpret_cast<const char *>(b->href) : "";
    return std::strcmp(ha, hb) == 0;
}

// Copies into `to` what the allowlist shows of `from` (at `path`).
void copy_shown(xmlNodePtr from, xmlNodePtr to, xmlNsPtr ns, const xmlNs *message_ns, const std::string &path)
{
    for (xmlAttrPtr a = from->properties; a; a = a->next) {
        if (a->ns || !a->name || !shown(path + "@" + reinterpret_cast<const char *>(a->name)))
            continue;
        xmlChar *v = xmlNodeGetContent(reinterpret_cast<xmlNodePtr>(a));
        xmlAttrPtr made = xmlNewProp(to, a->name, v ? v : reinterpret_cast<const xmlChar *>(""));
        xmlFree(v);
        if (!made)
            throw std::bad_alloc();
    }
    const bool leaf = shown_leaf(path);
    for (xmlNodePtr c = from->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE && leaf && c->content) {
            xmlNodePtr t = xmlNewDocText(to->doc, c->content);
            if (!t || !xmlAddChild(to, t)) {
                xmlFreeNode(t);
                throw std::bad_alloc();
            }
        } else if (c->type == XML_ELEMENT_NODE && c->name && same_ns(c->ns, message_ns)) {
            const std::string sub = path.empty() ? std::string(reinterpret_cast<const char *>(c->name))
                                                 : path + "/" + reinterpret_cast<const char *>(c->name);
            if (!shown(sub))
                continue;
            xmlNodePtr e = xmlNewDocNode(to->doc, ns, c->name, nullptr);
            if (!e || !xmlAddChild(to, e)) {
                xmlFreeNode(e);
                throw std::bad_alloc();
            }
            copy_shown(c, e, ns, message_ns, sub);
        }
        // Comments, processing instructions, CDATA, text of containers: never copied.
    }
}

std::string dump(xmlDocPtr doc, xmlNodePtr node)
{
    std::unique_ptr<xmlBuffer, BufferFree> buf(xmlBufferCreate());
    if (!buf)
        throw std::bad_alloc();
    if (xmlNodeDump(buf.get(), doc, node, 0, 0) < 0)
        throw Error(ErrorKind::Internal, "could not serialise VTJkysely's answer");
    return std::string(reinterpret_cast<const char *>(xmlBufferContent(buf.get())),
                       static_cast<std::size_t>(xmlBufferLength(buf.get())));
}

// The answer message as its own document, serialised without an XML declaration (UTF-8): as
// received, or, for a protected person, rebuilt from the allowlist.
std::string serialise(xmlNodePtr message, bool censor)
{
    Doc out(xmlNewDoc(reinterpret_cast<const xmlChar *>("1.0")));
    if (!out)
        throw std::bad_alloc();
    if (!censor) {
        xmlNodePtr copy = xmlDocCopyNode(message, out.get(), 1);  // namespaces of ancestors declared on the copy
        if (!copy)
            throw std::bad_alloc();
        xmlDocSetRootElement(out.get(), copy);
        return dump(out.get(), copy);
    }
    xmlNodePtr root = xmlNewDocNode(out.get(), nullptr, message->name, nullptr);
    if (!root)
        throw std::bad_alloc();
    xmlDocSetRootElement(out.get(), root);
    xmlNsPtr ns = nullptr;
    if (message->ns && message->ns->href) {
        ns = xmlNewNs(root, message->ns->href, message->ns->prefix);
        if (!ns)
            throw std::bad_alloc();
        xmlSetNs(root, ns);
    }
    copy_shown(message, root, ns, message->ns, "");
    return dump(out.get(), root);
}

// The only child of `parent` called `local`; nullptr when there is none, and `duplicated` set
// when there is more than one.
xmlNodePtr only_child(xmlNodePtr parent, const char *local, bool &duplicated) noexcept
{
    xmlNodePtr found = nullptr;
    if (!parent)
        return nullptr;
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (is(c, local)) {
            if (found)
                duplicated = true;
            else
                found = c;
        }
    return found;
}

// "0" (and nothing else: plain text only, one element) is the one answer that lifts the
// protection. Everything else, including no answer at all, protects.
bool protected_by(xmlNodePtr henkilo, bool duplicated_henkilo) noexcept
{
    if (!henkilo || duplicated_henkilo)
        return true;
    bool dup = false;
    xmlNodePtr t = only_child(henkilo, "Turvakielto", dup);
    xmlNodePtr tieto = only_child(t, "TurvakieltoTieto", dup);
    if (!tieto || dup)
        return true;
    std::string v;
    for (xmlNodePtr c = tieto->children; c; c = c->next) {
        if (c->type != XML_TEXT_NODE)
            return true;  // an element, a comment, CDATA, a processing instruction: unreadable
        if (c->content)
            v += reinterpret_cast<const char *>(c->content);
    }
    return trim(std::move(v)) != "0";
}

}  // namespace

bool parse_yyyymmdd(std::string_view t, std::int32_t &days) noexcept
{
    if (t.size() != 8)
        return false;
    for (char c : t)
        if (c < '0' || c > '9')
            return false;
    const int y = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
    const unsigned m = unsigned((t[4] - '0') * 10 + (t[5] - '0'));
    const unsigned d = unsigned((t[6] - '0') * 10 + (t[7] - '0'));
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > (m == 2 && leap ? 29u : dim[m - 1]))
        return false;
    days = static_cast<std::int32_t>(dates_detail::days_from_civil(y, m, d));
    return true;
}

Answer parse_answer(std::string_view body, const std::vector<std::string> &secrets)
{
    Doc doc = parse_document(body);
    xmlNodePtr root = xmlDocGetRootElement(doc.get());
    if (!is(root, "Envelope"))
        throw bad("VTJkysely's answer is not a SOAP envelope", {}, kHintEndpoint);
    xmlNodePtr soap_body = child(root, "Body");
    if (!soap_body)
        throw bad("VTJkysely's answer has no SOAP Body", {}, kHintEndpoint);

    if (xmlNodePtr fault = child(soap_body, "Fault")) {
        // SOAP 1.1: faultcode/faultstring; SOAP 1.2: Code/Value and Reason/Text.
        std::string code = text_of(child(fault, "faultcode"));
        std::string text = text_of(child(fault, "faultstring"));
        if (code.empty())
            code = text_of(child(child(fault, "Code"), "Value"));
        if (text.empty())
            text = text_of(child(child(fault, "Reason"), "Text"));
        throw detail::fault_error(code.empty() ? text : code + ": " + text, secrets);
    }

    xmlNodePtr message = descendant(soap_body, "VTJHenkiloVastaussanoma");
    if (!message) {
        const std::string code = text_of(descendant(soap_body, "faultCode"));
        const std::string text = text_of(descendant(soap_body, "faultString"));
        if (!code.empty() || !text.empty())
            throw detail::fault_error(code.empty() ? text : code + ": " + text, secrets);
        throw bad("VTJkysely's answer has no VTJHenkiloVastaussanoma", {}, kHintEndpoint);
    }

    Answer a;
    xmlNodePtr paluukoodi = child(message, "Paluukoodi");
    a.paluukoodi = attribute(paluukoodi, "koodi");
    if (!paluukoodi || a.paluukoodi.empty())
        throw bad("VTJkysely's answer has no Paluukoodi", {}, kHintEndpoint);
    a.paluukoodi_text = text_of(paluukoodi);
    if (a.paluukoodi == "0001") {
        a.outcome = Outcome::NotFound;
        return a;
    }
    if (a.paluukoodi == "0000") {
        a.outcome = Outcome::Found;
    } else if (a.paluukoodi == "0002") {
        a.outcome = Outcome::Passivated;
        a.hetu_voimassa = false;
    } else {
        throw detail::paluukoodi_error(a.paluukoodi, a.paluukoodi_text, secrets);
    }

    bool duplicated_henkilo = false;
    xmlNodePtr h = only_child(message, "Henkilo", duplicated_henkilo);
    if (!h && a.outcome == Outcome::Found)
        throw bad("VTJkysely's answer has Paluukoodi 0000 but no Henkilo", {}, kHintEndpoint);
    if (h) {
        if (attribute(child(h, "Henkilotunnus"), "voimassaolokoodi") == "0")
            a.hetu_voimassa = false;
        a.sukunimi = value(child(h, "NykyinenSukunimi"), "Sukunimi");
        a.etunimet = value(child(h, "NykyisetEtunimet"), "Etunimet");
        a.aidinkieli = value(child(h, "Aidinkieli"), "Kielikoodi");
        if (xmlNodePtr k = child(h, "Kuolintiedot")) {
            const std::string kuollut = text_of(child(k, "Kuollut"));
            if (kuollut == "1")
                a.kuollut = true;
            else if (kuollut.empty() || kuollut == "0")
                a.kuollut = false;
            a.kuolinpv = date_value(k, "Kuolinpvm");
        }
        a.turvakielto_loppupv = date_value(child(h, "Turvakielto"), "TurvakieltoPaattymispvm");
    }
    // Fail closed: location only when the answer says plainly, once, that there is no turvakielto.
    a.censored = protected_by(h, duplicated_henkilo);
    a.turvakielto = a.censored;
    if (h && !a.censored) {
        xmlNodePtr vko = child(h, "VakinainenKotimainenLahiosoite");
        a.lahiosoite = fi_or_sv(vko, "LahiosoiteS", "LahiosoiteR");
        a.postinumero = value(vko, "Postinumero");
        a.postitoimipaikka = fi_or_sv(vko, "PostitoimipaikkaS", "PostitoimipaikkaR");
        a.postiosoite = fi_or_sv(child(h, "KotimainenPostiosoite"), "PostiosoiteS", "PostiosoiteR");
        xmlNodePtr kunta = child(h, "Kotikunta");
        a.kotikunta = value(kunta, "Kuntanumero");
        a.kotikunta_nimi = value(kunta, "KuntaS");
    }
    a.vastaus = serialise(message, a.censored);
    return a;
}

}  // namespace vtj::kysely
