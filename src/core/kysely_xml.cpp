// Reading a VTJkysely answer with libxml2 (kysely.hpp: parse_answer, parse_yyyymmdd).
//
// libxml2 safety: the document is parsed from memory with XML_PARSE_NONET and without
// XML_PARSE_NOENT, XML_PARSE_DTDLOAD and XML_PARSE_HUGE; a DOCTYPE stops the parser in its
// internalSubset callback, before the internal subset (where entities are declared) is read.
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
#include "core/vtj_json_dates.hpp"

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

Doc parse_document(std::string_view body, const std::vector<std::string> &secrets)
{
    if (body.empty())
        throw bad("VTJkysely's answer is empty", {}, kHintEndpoint);
    if (body.size() > static_cast<std::size_t>(INT32_MAX / 2))
        throw Error(ErrorKind::ResponseTooLarge, "VTJkysely's answer is too large to read");
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
        const xmlError &err = ctxt->lastError;
        std::string what = err.message ? std::string(err.message) : std::string("not well-formed");
        while (!what.empty() && (what.back() == '\n' || what.back() == ' '))
            what.pop_back();
        std::string message = "VTJkysely's answer is not well-formed XML: " + what;
        if (err.line > 0)
            message += " (line " + std::to_string(err.line) + ")";
        throw bad(detail::clean(message, secrets, 600), {}, kHintEndpoint);
    }
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

// Local names (lowercased) of elements that reveal where a person lives or stays: under
// turvakielto none of them may leave vtj_fdw. Matched as substrings, so that variants
// (Vakinainen/Tilapainen, Kotimainen/Ulkomainen, S/R) and elements DVV adds later are caught.
const char *const kLocationParts[] = {
    "osoite",      // *Lahiosoite, *Postiosoite, Sahkopostiosoite, Osoitenumero
    "asuinpaik",   // VakinainenAsuinpaikka, Asuinpaikantunnus
    "kunta",       // Kotikunta, Kuntanumero, KuntaS/R, TilapainenKotikunta, Paikkakunta…
    "posti",       // Postinumero, Postitoimipaikka*
    "asuminen",    // AsuminenAlkupvm, OlinpaikassaAsuminen, UlkomaillaAsuminen
    "asukas",      // AsukasLkm, AsukasAlle18v: who lives in the same dwelling
    "asukkaat",
    "olinpaik",
    "ulkomail",
    "sijainti",
    "kotipaikka",
    "rakennus",
    "huoneisto",
    "kiinteisto",
    "aanestysalue",
    "vaalipiiri",
};

bool is_location(const xmlChar *name) noexcept
{
    if (!name)
        return false;
    char lower[128];
    std::size_t n = 0;
    for (const xmlChar *p = name; *p && n + 1 < sizeof lower; ++p)
        lower[n++] = static_cast<char>(*p >= 'A' && *p <= 'Z' ? *p + ('a' - 'A') : *p);
    lower[n] = '\0';
    for (const char *part : kLocationParts)
        if (std::strstr(lower, part))
            return true;
    return false;
}

// Removes every location element below n.
void remove_locations(xmlNodePtr n) noexcept
{
    for (xmlNodePtr c = n->children; c;) {
        xmlNodePtr next = c->next;
        if (c->type == XML_ELEMENT_NODE) {
            if (is_location(c->name)) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            } else {
                remove_locations(c);
            }
        }
        c = next;
    }
}

// The answer message as its own document, censored when asked, serialised without an XML
// declaration (UTF-8).
std::string serialise(xmlNodePtr message, bool censor)
{
    Doc out(xmlNewDoc(reinterpret_cast<const xmlChar *>("1.0")));
    if (!out)
        throw std::bad_alloc();
    xmlNodePtr copy = xmlDocCopyNode(message, out.get(), 1);  // namespaces of ancestors declared on the copy
    if (!copy)
        throw std::bad_alloc();
    xmlDocSetRootElement(out.get(), copy);
    if (censor)
        remove_locations(copy);
    std::unique_ptr<xmlBuffer, BufferFree> buf(xmlBufferCreate());
    if (!buf)
        throw std::bad_alloc();
    if (xmlNodeDump(buf.get(), out.get(), copy, 0, 0) < 0)
        throw Error(ErrorKind::Internal, "could not serialise VTJkysely's answer");
    return std::string(reinterpret_cast<const char *>(xmlBufferContent(buf.get())),
                       static_cast<std::size_t>(xmlBufferLength(buf.get())));
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
    days = static_cast<std::int32_t>(json_detail::days_from_civil(y, m, d));
    return true;
}

Answer parse_answer(std::string_view body, const std::vector<std::string> &secrets)
{
    Doc doc = parse_document(body, secrets);
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

    xmlNodePtr h = child(message, "Henkilo");
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
        if (xmlNodePtr t = child(h, "Turvakielto")) {
            if (xmlNodePtr tieto = child(t, "TurvakieltoTieto")) {
                const std::string v = text_of(tieto);
                a.turvakielto = !(v.empty() || v == "0");  // "1" on; an unknown value counts as on
            }
            a.turvakielto_loppupv = date_value(t, "TurvakieltoPaattymispvm");
        }
    }
    // Location only when the answer says plainly that there is no turvakielto.
    a.censored = !(a.turvakielto.has_value() && !*a.turvakielto);
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
