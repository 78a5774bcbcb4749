// VTJkysely in the core (core/kysely.hpp): the SOAP envelope (X-Road headers, escaping), the
// HTTP driver against the in-process test server, and the answer parser on fixture strings:
// every Paluukoodi case, SOAP faults, dates and flags, turvakielto censorship, DTD refusal.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/error.hpp"
#include "core/hetu.hpp"
#include "core/kysely.hpp"
#include "test_http_server.hpp"

namespace {

using vtj::Error;
using vtj::ErrorKind;
namespace k = vtj::kysely;

const char *kHetu = "010190-900P";  // a test hetu (individual number 9xx), valid
const char *kPassword = "VTJ-Salasana-9f1c";
const char *kUser = "kunta-vtjkysely";

k::RequestSettings settings()
{
    k::RequestSettings s;
    s.url = "http://127.0.0.1:1/vtjkysely";
    s.xroad_client = "FI-TEST/MUN/0123456-7/vtj-client";
    s.username = kUser;
    s.password = kPassword;
    s.loppukayttaja = "kasittelija@kunta.fi";
    return s;
}

// The text of the first element with this local name in an XML document, or "<missing>".
std::string xml_text(const std::string &xml, const char *local)
{
    xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET);
    if (!doc)
        return "<not well-formed>";
    std::string out = "<missing>";
    std::vector<xmlNodePtr> stack{xmlDocGetRootElement(doc)};
    while (!stack.empty()) {
        xmlNodePtr n = stack.back();
        stack.pop_back();
        if (!n)
            continue;
        if (n->type == XML_ELEMENT_NODE && std::string(reinterpret_cast<const char *>(n->name)) == local) {
            xmlChar *c = xmlNodeGetContent(n);
            out = c ? reinterpret_cast<const char *>(c) : "";
            xmlFree(c);
            break;
        }
        for (xmlNodePtr c = n->last; c; c = c->prev)
            stack.push_back(c);
    }
    xmlFreeDoc(doc);
    return out;
}

bool well_formed(const std::string &xml)
{
    xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET);
    const bool ok = doc != nullptr;
    xmlFreeDoc(doc);
    return ok;
}

// ---- fixtures in the shape of a PERUSSANOMA 3 answer (docs/interface.md#vtjkysely-soap-outline) ----------------------

std::string henkilo(const std::string &turvakielto = "0", const std::string &extra = "")
{
    return "<Henkilo><Henkilotunnus voimassaolokoodi=\"1\">010190-900P</Henkilotunnus>"
           "<NykyinenSukunimi><Sukunimi>Mäkinen</Sukunimi></NykyinenSukunimi>"
           "<NykyisetEtunimet><Etunimet>Matti Åke</Etunimet></NykyisetEtunimet>"
           "<VakinainenKotimainenLahiosoite><LahiosoiteS>Mikkolantie 1 A 3</LahiosoiteS>"
           "<LahiosoiteR>Mickelsvägen 1 A 3</LahiosoiteR><Postinumero>00940</Postinumero>"
           "<PostitoimipaikkaS>HELSINKI</PostitoimipaikkaS><PostitoimipaikkaR>HELSINGFORS</PostitoimipaikkaR>"
           "<AsuminenAlkupvm>20150301</AsuminenAlkupvm><AsuminenLoppupvm/></VakinainenKotimainenLahiosoite>"
           "<VakinainenUlkomainenLahiosoite><UlkomainenLahiosoite/><UlkomainenPaikkakuntaJaValtioS/>"
           "<Valtiokoodi3/></VakinainenUlkomainenLahiosoite>"
           "<VakinainenAsuinpaikka><Asuinpaikantunnus>900000041C1F028 </Asuinpaikantunnus></VakinainenAsuinpaikka>"
           "<TilapainenKotimainenLahiosoite><LahiosoiteS>Mökkitie 9</LahiosoiteS><LahiosoiteR/><Postinumero>41800</Postinumero>"
           "<PostitoimipaikkaS>KORPILAHTI</PostitoimipaikkaS><PostitoimipaikkaR/></TilapainenKotimainenLahiosoite>"
           "<KotimainenPostiosoite><PostiosoiteS>PL 12</PostiosoiteS><PostiosoiteR>PB 12</PostiosoiteR>"
           "<Postinumero>00101</Postinumero><PostitoimipaikkaS>HELSINKI</PostitoimipaikkaS></KotimainenPostiosoite>"
           "<Kotikunta><Kuntanumero>091</Kuntanumero><KuntaS>Helsinki</KuntaS><KuntaR>Helsingfors</KuntaR>"
           "<KuntasuhdeAlkupvm>20150301</KuntasuhdeAlkupvm></Kotikunta>"
           "<Kuolintiedot><Kuollut/><Kuolinpvm/></Kuolintiedot>"
           "<Aidinkieli><Kielikoodi>fi</Kielikoodi><KieliS>suomi</KieliS></Aidinkieli>"
           "<Turvakielto><TurvakieltoTieto>" + turvakielto + "</TurvakieltoTieto>"
           "<TurvakieltoPaattymispvm>" + std::string(turvakielto == "1" ? "20301231" : "") + "</TurvakieltoPaattymispvm></Turvakielto>"
           "<Sukupuoli><Sukupuolikoodi>1</Sukupuolikoodi></Sukupuoli>" + extra + "</Henkilo>";
}

std::string answer(const std::string &koodi, const std::string &person, const std::string &koodi_text = "Haku onnistui")
{
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
           "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
           "xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\"><SOAP-ENV:Header><xrd:id>x</xrd:id></SOAP-ENV:Header>"
           "<SOAP-ENV:Body><HenkilonTunnusKyselyResponse xmlns=\"http://xml.vrk.fi/ws/vtj/vtjkysely/1\">"
           "<request><SoSoNimi>Perussanoma 3</SoSoNimi><Kayttajatunnus>kunta-vtjkysely</Kayttajatunnus><Salasana/>"
           "<Henkilotunnus>010190-900P</Henkilotunnus></request><response>"
           "<VTJHenkiloVastaussanoma xmlns=\"http://xml.vrk.fi/schema/vtjkysely\" sanomatunnus=\"PERUSSANOMA 3\" "
           "tietojenPoimintaaika=\"20260115101500\" versio=\"1.0\">"
           "<Asiakasinfo><InfoS>15.01.2026 10:15</InfoS><InfoR/><InfoE/></Asiakasinfo>"
           "<Paluukoodi koodi=\"" + koodi + "\">" + koodi_text + "</Paluukoodi>"
           "<Hakuperusteet><Henkilotunnus hakuperustePaluukoodi=\"1\">010190-900P</Henkilotunnus></Hakuperusteet>" +
           person + "</VTJHenkiloVastaussanoma><faultCode/><faultString/></response></HenkilonTunnusKyselyResponse>"
           "</SOAP-ENV:Body></SOAP-ENV:Envelope>";
}

std::string soap_fault(const std::string &code, const std::string &text)
{
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope "
           "xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Body><SOAP-ENV:Fault>"
           "<faultcode>" + code + "</faultcode><faultstring>" + text + "</faultstring><detail/>"
           "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>";
}

// Runs fn, expecting a vtj::Error; returns it.
template <typename Fn>
Error expect_error(Fn &&fn)
{
    try {
        fn();
    } catch (const Error &e) {
        return e;
    }
    ADD_FAILURE() << "no vtj::Error thrown";
    return Error(ErrorKind::Internal, "none");
}

std::string all_text(const Error &e) { return std::string(e.what()) + "\n" + e.detail() + "\n" + e.hint(); }

int32_t days(int y, int m, int d)
{
    char t[48];
    snprintf(t, sizeof t, "%04d%02d%02d", y, m, d);
    int32_t out = -1;
    EXPECT_TRUE(k::parse_yyyymmdd(t, out)) << t;
    return out;
}

// ---- the request ---------------------------------------------------------------------------

TEST(KyselyRequest, EnvelopeHasXRoadHeadersAndBody)
{
    const std::string id = k::new_request_id();
    const std::string x = k::build_envelope(settings(), kHetu, id);
    ASSERT_TRUE(well_formed(x)) << x;
    // client
    EXPECT_NE(x.find("<xrd:client id:objectType=\"SUBSYSTEM\"><id:xRoadInstance>FI-TEST</id:xRoadInstance>"
                     "<id:memberClass>MUN</id:memberClass><id:memberCode>0123456-7</id:memberCode>"
                     "<id:subsystemCode>vtj-client</id:subsystemCode></xrd:client>"),
              std::string::npos)
        << x;
    // service, from the default kysely_palvelu
    EXPECT_NE(x.find("<xrd:service id:objectType=\"SERVICE\"><id:xRoadInstance>FI</id:xRoadInstance>"
                     "<id:memberClass>GOV</id:memberClass><id:memberCode>0245437-2</id:memberCode>"
                     "<id:subsystemCode>VTJkysely</id:subsystemCode><id:serviceCode>HenkilonTunnusKysely</id:serviceCode>"
                     "<id:serviceVersion>v1</id:serviceVersion></xrd:service>"),
              std::string::npos)
        << x;
    EXPECT_EQ(xml_text(x, "id"), id);
    EXPECT_EQ(xml_text(x, "userId"), "kasittelija@kunta.fi");
    EXPECT_EQ(xml_text(x, "protocolVersion"), "4.0");
    EXPECT_EQ(xml_text(x, "SoSoNimi"), "Perussanoma 3");
    EXPECT_EQ(xml_text(x, "Kayttajatunnus"), kUser);
    EXPECT_EQ(xml_text(x, "Salasana"), kPassword);
    EXPECT_EQ(xml_text(x, "Loppukayttaja"), "kasittelija@kunta.fi");
    EXPECT_EQ(xml_text(x, "Henkilotunnus"), kHetu);
    // The body's elements are in VTJkysely's namespace (elementFormDefault="qualified").
    EXPECT_NE(x.find("<HenkilonTunnusKysely xmlns=\"http://xml.vrk.fi/ws/vtj/vtjkysely/1\"><request><SoSoNimi>"),
              std::string::npos);
}

TEST(KyselyRequest, EveryValueIsEscaped)
{
    k::RequestSettings s = settings();
    s.loppukayttaja = "Matti & <Maija> \"x\" 'y' ]]> ä\r";
    s.password = "p<&>\"'w";
    s.soso_nimi = "Perussanoma 3 & <muu>";
    const std::string x = k::build_envelope(s, kHetu, "id-1");
    ASSERT_TRUE(well_formed(x)) << x;
    EXPECT_EQ(xml_text(x, "Loppukayttaja"), s.loppukayttaja);
    EXPECT_EQ(xml_text(x, "userId"), s.loppukayttaja);
    EXPECT_EQ(xml_text(x, "Salasana"), s.password);
    EXPECT_EQ(xml_text(x, "SoSoNimi"), s.soso_nimi);
    EXPECT_EQ(x.find("<Maija>"), std::string::npos);
    EXPECT_EQ(k::xml_escape("a&b<c>d\"e'f", "f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
}

TEST(KyselyRequest, CharactersXmlCannotCarryAreRefusedWithoutTheValue)
{
    k::RequestSettings s = settings();
    s.loppukayttaja = std::string("abc\x01secretvalue");
    Error e = expect_error([&] { k::validate(s); });
    EXPECT_EQ(e.kind(), ErrorKind::InvalidValue);
    EXPECT_NE(std::string(e.what()).find("Loppukayttaja"), std::string::npos) << e.what();
    EXPECT_EQ(all_text(e).find("secretvalue"), std::string::npos);

    s = settings();
    s.password = std::string("Zq7w\xff\xfeXy9");  // invalid UTF-8
    e = expect_error([&] { k::validate(s); });
    EXPECT_EQ(e.kind(), ErrorKind::InvalidValue);
    EXPECT_EQ(all_text(e).find("Zq7w"), std::string::npos);
    EXPECT_NO_THROW(k::xml_escape("tab\tlf\ncr\r ok äö €𝄞", "f"));
    EXPECT_THROW(k::xml_escape(std::string("\xed\xa0\x80", 3), "f"), Error);  // a UTF-16 surrogate
    EXPECT_THROW(k::xml_escape(std::string("\xc0\xaf", 2), "f"), Error);      // overlong
}

TEST(KyselyRequest, WithoutXroadClientThereIsNoHeader)
{
    k::RequestSettings s = settings();
    s.xroad_client.clear();
    const std::string x = k::build_envelope(s, kHetu, "id-1");
    ASSERT_TRUE(well_formed(x));
    EXPECT_EQ(x.find("Header"), std::string::npos);
    EXPECT_EQ(xml_text(x, "Henkilotunnus"), kHetu);
}

TEST(KyselyRequest, XroadIdentifiersAreValidated)
{
    EXPECT_NO_THROW(k::parse_xroad_client("FI/MUN/0123456-7/sub"));
    EXPECT_THROW(k::parse_xroad_client("FI/MUN/0123456-7"), Error);
    EXPECT_THROW(k::parse_xroad_client("FI//0123456-7/sub"), Error);
    EXPECT_THROW(k::parse_xroad_client("FI/MUN/0123456-7/sub/extra"), Error);
    k::XroadService v = k::parse_xroad_service("FI-DEV/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely");
    EXPECT_EQ(v.instance, "FI-DEV");
    EXPECT_EQ(v.service_code, "HenkilonTunnusKysely");
    EXPECT_EQ(v.service_version, "");
    EXPECT_THROW(k::parse_xroad_service("FI/GOV/0245437-2/VTJkysely"), Error);
    k::RequestSettings s = settings();
    s.palvelu = "nonsense";
    Error e = expect_error([&] { k::validate(s); });
    EXPECT_NE(std::string(e.what()).find("kysely_palvelu"), std::string::npos);
    s = settings();
    s.url.clear();
    e = expect_error([&] { k::validate(s); });
    EXPECT_NE(std::string(e.what()).find("kysely_url"), std::string::npos);
}

TEST(KyselyRequest, RequestIdsAreFreshUuids)
{
    const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string id = k::new_request_id();
        EXPECT_TRUE(std::regex_match(id, uuid)) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 200u);
    // Each request gets its own id.
    vtj::HttpRequest a = k::build_request(settings(), kHetu, 0), b = k::build_request(settings(), kHetu, 1);
    EXPECT_NE(xml_text(a.body, "id"), xml_text(b.body, "id"));
}

TEST(KyselyRequest, HttpRequestAndConfig)
{
    vtj::HttpRequest r = k::build_request(settings(), kHetu, 7);
    EXPECT_EQ(r.method, vtj::HttpRequest::Method::Post);
    EXPECT_EQ(r.url, settings().url);
    EXPECT_EQ(r.content_type, "text/xml; charset=utf-8");
    ASSERT_EQ(r.extra_headers.size(), 1u);
    EXPECT_EQ(r.extra_headers[0].rfind("SOAPAction:", 0), 0u);
    EXPECT_EQ(r.tag, 7u);
    EXPECT_EQ(r.what.find(kHetu), std::string::npos);

    vtj::HttpConfig server;
    server.username = kUser;
    server.password = kPassword;
    server.xroad_client = "FI/MUN/1/x";
    server.max_response_bytes = 256u << 20;
    server.max_parallel = 3;
    server.max_retries = 4;
    vtj::HttpConfig c = k::http_config(server);
    EXPECT_EQ(k::retry_policy(server, nullptr).max_retries, 4);
    EXPECT_EQ(c.auth, vtj::AuthScheme::None);
    EXPECT_TRUE(c.username.empty());
    EXPECT_TRUE(c.password.empty());
    EXPECT_TRUE(c.xroad_client.empty());
    EXPECT_EQ(c.max_response_bytes, k::kMaxAnswerBytes);
    EXPECT_EQ(c.max_parallel, 3);
    EXPECT_EQ(c.max_retries, 0);  // fetch_answers() retries, never a SOAP fault
    server.max_response_bytes = 1u << 20;
    EXPECT_EQ(k::http_config(server).max_response_bytes, 1u << 20);
}

// ---- dates and flags ------------------------------------------------------------------------

TEST(KyselyDates, Yyyymmdd)
{
    int32_t d = -1;
    ASSERT_TRUE(k::parse_yyyymmdd("19700101", d));
    EXPECT_EQ(d, 0);
    ASSERT_TRUE(k::parse_yyyymmdd("20000229", d));
    EXPECT_EQ(d, 11016);
    ASSERT_TRUE(k::parse_yyyymmdd("19691231", d));
    EXPECT_EQ(d, -1);
    EXPECT_FALSE(k::parse_yyyymmdd("", d));
    EXPECT_FALSE(k::parse_yyyymmdd("19650000", d));  // VTJ's unknown month and day
    EXPECT_FALSE(k::parse_yyyymmdd("19651100", d));
    EXPECT_FALSE(k::parse_yyyymmdd("19000229", d));  // not a leap year
    EXPECT_FALSE(k::parse_yyyymmdd("20231301", d));
    EXPECT_FALSE(k::parse_yyyymmdd("2023-01-01", d));
    EXPECT_FALSE(k::parse_yyyymmdd("2023010", d));
    EXPECT_FALSE(k::parse_yyyymmdd("2023O101", d));
}

TEST(KyselyParse, DatesAndFlags)
{
    std::string p = henkilo("0");
    p.replace(p.find("<Kuolintiedot><Kuollut/><Kuolinpvm/></Kuolintiedot>"), 51,
              "<Kuolintiedot><Kuollut>1</Kuollut><Kuolinpvm>20240515</Kuolinpvm></Kuolintiedot>");
    k::Answer a = k::parse_answer(answer("0000", p));
    EXPECT_EQ(a.kuollut, std::optional<bool>(true));
    EXPECT_EQ(a.kuolinpv, std::optional<int32_t>(days(2024, 5, 15)));
    EXPECT_EQ(a.turvakielto, std::optional<bool>(false));
    EXPECT_FALSE(a.turvakielto_loppupv.has_value());

    a = k::parse_answer(answer("0000", henkilo("0")));
    EXPECT_EQ(a.kuollut, std::optional<bool>(false));  // <Kuollut/>: alive
    EXPECT_FALSE(a.kuolinpv.has_value());              // <Kuolinpvm/>: NULL

    a = k::parse_answer(answer("0000", henkilo("1")));
    EXPECT_EQ(a.turvakielto, std::optional<bool>(true));
    EXPECT_EQ(a.turvakielto_loppupv, std::optional<int32_t>(days(2030, 12, 31)));

    // Fail closed: an empty TurvakieltoTieto is not a "0", so the person counts as protected.
    p = henkilo("");
    a = k::parse_answer(answer("0000", p));
    EXPECT_EQ(a.turvakielto, std::optional<bool>(true));
    EXPECT_TRUE(a.censored);
    EXPECT_FALSE(a.lahiosoite.has_value());
}

// ---- Paluukoodi ------------------------------------------------------------------------------

TEST(KyselyParse, FoundPersonColumns)
{
    k::Answer a = k::parse_answer(answer("0000", henkilo("0")));
    EXPECT_EQ(a.outcome, k::Outcome::Found);
    EXPECT_EQ(a.paluukoodi, "0000");
    EXPECT_EQ(a.paluukoodi_text, "Haku onnistui");
    EXPECT_TRUE(a.hetu_voimassa);
    EXPECT_EQ(a.sukunimi, std::optional<std::string>("Mäkinen"));
    EXPECT_EQ(a.etunimet, std::optional<std::string>("Matti Åke"));
    EXPECT_EQ(a.aidinkieli, std::optional<std::string>("fi"));
    EXPECT_EQ(a.kotikunta, std::optional<std::string>("091"));
    EXPECT_EQ(a.kotikunta_nimi, std::optional<std::string>("Helsinki"));
    EXPECT_EQ(a.lahiosoite, std::optional<std::string>("Mikkolantie 1 A 3"));
    EXPECT_EQ(a.postinumero, std::optional<std::string>("00940"));
    EXPECT_EQ(a.postitoimipaikka, std::optional<std::string>("HELSINKI"));
    EXPECT_EQ(a.postiosoite, std::optional<std::string>("PL 12"));
    EXPECT_FALSE(a.censored);
    // vastaus: the answer message alone, well-formed, in its namespace, UTF-8 kept as is, and
    // nothing of the SOAP envelope (the echoed request names the username).
    ASSERT_TRUE(well_formed(a.vastaus)) << a.vastaus;
    EXPECT_EQ(a.vastaus.rfind("<VTJHenkiloVastaussanoma xmlns=\"http://xml.vrk.fi/schema/vtjkysely\"", 0), 0u) << a.vastaus;
    EXPECT_NE(a.vastaus.find("Mäkinen"), std::string::npos);
    EXPECT_NE(a.vastaus.find("Mikkolantie 1 A 3"), std::string::npos);
    EXPECT_EQ(a.vastaus.find(kUser), std::string::npos);
    EXPECT_EQ(a.vastaus.find("Envelope"), std::string::npos);
    EXPECT_EQ(xml_text(a.vastaus, "Asuinpaikantunnus"), "900000041C1F028 ");
}

TEST(KyselyParse, EmptyElementsAreNullAndSwedishIsTheFallback)
{
    std::string p = henkilo("0");
    auto swap = [&p](const std::string &from, const std::string &to) {
        const std::size_t at = p.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        p.replace(at, from.size(), to);
    };
    swap("<Sukunimi>Mäkinen</Sukunimi>", "<Sukunimi/>");
    swap("<LahiosoiteS>Mikkolantie 1 A 3</LahiosoiteS>", "<LahiosoiteS>  </LahiosoiteS>");
    swap("<PostitoimipaikkaS>HELSINKI</PostitoimipaikkaS><PostitoimipaikkaR>HELSINGFORS</PostitoimipaikkaR>",
         "<PostitoimipaikkaS/><PostitoimipaikkaR>HELSINGFORS</PostitoimipaikkaR>");
    swap("<Kielikoodi>fi</Kielikoodi>", "<Kielikoodi></Kielikoodi>");
    k::Answer a = k::parse_answer(answer("0000", p));
    EXPECT_FALSE(a.sukunimi.has_value());
    EXPECT_EQ(a.lahiosoite, std::optional<std::string>("Mickelsvägen 1 A 3"));
    EXPECT_EQ(a.postitoimipaikka, std::optional<std::string>("HELSINGFORS"));
    EXPECT_FALSE(a.aidinkieli.has_value());
}

TEST(KyselyParse, NotFoundIsNoRowAndNoError)
{
    k::Answer a = k::parse_answer(answer("0001", "", "Haulla ei löytynyt tietoja"));
    EXPECT_EQ(a.outcome, k::Outcome::NotFound);
    EXPECT_EQ(a.paluukoodi, "0001");
    EXPECT_TRUE(a.vastaus.empty());
}

TEST(KyselyParse, PassivatedHetuIsARowWithHetuVoimassaFalse)
{
    k::Answer a = k::parse_answer(answer("0002", henkilo("0"), "Henkilötunnus on passivoitu"));
    EXPECT_EQ(a.outcome, k::Outcome::Passivated);
    EXPECT_EQ(a.paluukoodi, "0002");
    EXPECT_FALSE(a.hetu_voimassa);
    EXPECT_EQ(a.sukunimi, std::optional<std::string>("Mäkinen"));
    // Without a Henkilo element as well.
    a = k::parse_answer(answer("0002", ""));
    EXPECT_EQ(a.outcome, k::Outcome::Passivated);
    EXPECT_FALSE(a.hetu_voimassa);
    EXPECT_FALSE(a.sukunimi.has_value());
    // voimassaolokoodi="0" on a found person.
    std::string p = henkilo("0");
    p.replace(p.find("voimassaolokoodi=\"1\""), 20, "voimassaolokoodi=\"0\"");
    EXPECT_FALSE(k::parse_answer(answer("0000", p)).hetu_voimassa);
}

TEST(KyselyParse, OtherPaluukoodiIsAnErrorWithCodeAndTextButNoHetu)
{
    Error e = expect_error([] { k::parse_answer(answer("0006", "", "Henkilö 010190-900P ei ole luovutettavissa")); });
    EXPECT_EQ(e.kind(), ErrorKind::HttpStatus);
    EXPECT_NE(std::string(e.what()).find("Paluukoodi 0006"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ei ole luovutettavissa"), std::string::npos) << e.what();
    EXPECT_EQ(all_text(e).find(kHetu), std::string::npos) << all_text(e);

    e = expect_error([] { k::parse_answer(answer("-1500", "", "Virheellinen tunnus/salasana pari")); });
    EXPECT_NE(e.hint().find("user mapping"), std::string::npos) << e.hint();
    e = expect_error([] { k::parse_answer(answer("0018", henkilo("0"), "Henkilo on alle 15-vuotias")); });
    EXPECT_NE(std::string(e.what()).find("0018"), std::string::npos);
}

// ---- faults and broken answers ---------------------------------------------------------------

TEST(KyselyParse, SoapFaultIsAClearError)
{
    Error e = expect_error([] { k::parse_answer(soap_fault("SOAP-ENV:Server", "Service failed for 010190-900P")); });
    EXPECT_EQ(e.kind(), ErrorKind::HttpStatus);
    EXPECT_NE(std::string(e.what()).find("SOAP fault"), std::string::npos);
    EXPECT_EQ(e.detail(), "SOAP-ENV:Server: Service failed for [hetu]");
    EXPECT_EQ(all_text(e).find(kHetu), std::string::npos);

    e = expect_error([] {
        k::parse_answer(soap_fault("SOAP-ENV:Client", "Authentication failed: invalid Kayttajatunnus or Salasana"),
                        {kPassword, kUser});
    });
    EXPECT_NE(std::string(e.what()).find("credentials"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("user mapping"), std::string::npos) << e.hint();

    // A fault echoing the credentials: scrubbed.
    e = expect_error([] {
        k::parse_answer(soap_fault("Client", std::string("bad login ") + kUser + "/" + kPassword), {kPassword, kUser});
    });
    EXPECT_EQ(all_text(e).find(kPassword), std::string::npos) << all_text(e);
    EXPECT_EQ(all_text(e).find(kUser), std::string::npos) << all_text(e);
}

TEST(KyselyParse, FaultInTheAnswerBody)
{
    const std::string body =
        "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>"
        "<HenkilonTunnusKyselyResponse xmlns=\"http://xml.vrk.fi/ws/vtj/vtjkysely/1\"><response>"
        "<faultCode>500</faultCode><faultString>Palvelu ei ole käytettävissä</faultString></response>"
        "</HenkilonTunnusKyselyResponse></S:Body></S:Envelope>";
    Error e = expect_error([&] { k::parse_answer(body); });
    EXPECT_EQ(e.kind(), ErrorKind::HttpStatus);
    EXPECT_EQ(e.detail(), "500: Palvelu ei ole käytettävissä");
}

TEST(KyselyParse, MalformedXmlIsABadResponse)
{
    std::string broken = answer("0000", henkilo("0"));
    broken.resize(broken.size() / 2);
    Error e = expect_error([&] { k::parse_answer(broken); });
    EXPECT_EQ(e.kind(), ErrorKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("not well-formed"), std::string::npos) << e.what();
    EXPECT_EQ(all_text(e).find("Mäkinen"), std::string::npos);
    EXPECT_EQ(all_text(e).find(kHetu), std::string::npos);

    EXPECT_EQ(expect_error([] { k::parse_answer(""); }).kind(), ErrorKind::BadResponse);
    EXPECT_EQ(expect_error([] { k::parse_answer("<html><title>502</title></html>"); }).kind(), ErrorKind::BadResponse);
    EXPECT_EQ(expect_error([] { k::parse_answer("{\"not\": \"xml\"}"); }).kind(), ErrorKind::BadResponse);
    // An entity nobody declared.
    EXPECT_EQ(expect_error([] { k::parse_answer(answer("0000", henkilo("0", "<X>&undeclared;</X>"))); }).kind(),
              ErrorKind::BadResponse);
    // No Paluukoodi; no answer message; 0000 without Henkilo.
    std::string no_code = answer("0000", henkilo("0"));
    no_code.replace(no_code.find("<Paluukoodi koodi=\"0000\">Haku onnistui</Paluukoodi>"), 49, "");
    EXPECT_EQ(expect_error([&] { k::parse_answer(no_code); }).kind(), ErrorKind::BadResponse);
    EXPECT_EQ(expect_error([] {
                  k::parse_answer("<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body/></S:Envelope>");
              }).kind(),
              ErrorKind::BadResponse);
    EXPECT_EQ(expect_error([] { k::parse_answer(answer("0000", "")); }).kind(), ErrorKind::BadResponse);
}

std::string billion_laughs()
{
    std::string ents = "<!ENTITY lol0 \"lol\">";
    for (int n = 1; n < 10; ++n) {
        ents += "<!ENTITY lol" + std::to_string(n) + " \"";
        for (int i = 0; i < 10; ++i)
            ents += "&lol" + std::to_string(n - 1) + ";";
        ents += "\">";
    }
    std::string p = henkilo("0");
    p.replace(p.find("Mäkinen"), std::string("Mäkinen").size(), "&lol9;");
    std::string doc = answer("0000", p);
    const std::size_t after_decl = doc.find("?>") + 2;
    doc.insert(after_decl, "<!DOCTYPE SOAP-ENV:Envelope [" + ents + "]>");
    return doc;
}

TEST(KyselyParse, EntityExpansionAttackIsRefusedFast)
{
    const std::string doc = billion_laughs();
    const auto t0 = std::chrono::steady_clock::now();
    Error e = expect_error([&] { k::parse_answer(doc); });
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(e.kind(), ErrorKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("DOCTYPE"), std::string::npos) << e.what();
    EXPECT_EQ(all_text(e).find("lol"), std::string::npos);
    EXPECT_LT(ms, 500);
}

TEST(KyselyParse, AnyDoctypeIsRefused)
{
    // External entity (XXE): refused before anything is loaded.
    std::string p = henkilo("0");
    p.replace(p.find("Mäkinen"), std::string("Mäkinen").size(), "&xxe;");
    std::string doc = answer("0000", p);
    doc.insert(doc.find("?>") + 2, "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>");
    Error e = expect_error([&] { k::parse_answer(doc); });
    EXPECT_NE(std::string(e.what()).find("DOCTYPE"), std::string::npos);
    EXPECT_EQ(all_text(e).find("root:"), std::string::npos);
    // A harmless-looking one too: SOAP forbids DTDs altogether.
    doc = answer("0000", henkilo("0"));
    doc.insert(doc.find("?>") + 2, "<!DOCTYPE SOAP-ENV:Envelope SYSTEM \"http://127.0.0.1:1/x.dtd\">");
    e = expect_error([&] { k::parse_answer(doc); });
    EXPECT_EQ(e.kind(), ErrorKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("DOCTYPE"), std::string::npos);
}

// ---- turvakielto -----------------------------------------------------------------------------

const char *const kLocationElements[] = {
    "VakinainenKotimainenLahiosoite", "VakinainenUlkomainenLahiosoite", "VakinainenAsuinpaikka",
    "TilapainenKotimainenLahiosoite", "KotimainenPostiosoite", "Kotikunta", "LahiosoiteS", "Postinumero",
    "Kuntanumero", "Asuinpaikantunnus", "UlkomainenPostiosoite", "TilapainenUlkomainenLahiosoite", "AsukasLkm",
};

TEST(KyselyParse, TurvakieltoRemovesEveryLocationWhateverTheAnswerContained)
{
    // An uncensored answer (like mutpT1's) of a protected person: we censor.
    const std::string extra =
        "<UlkomainenPostiosoite><UlkomainenPostiosoiteS>Storgatan 5</UlkomainenPostiosoiteS></UlkomainenPostiosoite>"
        "<TilapainenUlkomainenLahiosoite><UlkomainenLahiosoite>Rue 1</UlkomainenLahiosoite></TilapainenUlkomainenLahiosoite>"
        "<AsukasLkm>2</AsukasLkm>"
        "<Huollettava><NykyinenSukunimi><Sukunimi>Lapsi</Sukunimi></NykyinenSukunimi>"
        "<VakinainenKotimainenLahiosoite><LahiosoiteS>Mikkolantie 1 A 3</LahiosoiteS></VakinainenKotimainenLahiosoite>"
        "</Huollettava>";
    k::Answer a = k::parse_answer(answer("0000", henkilo("1", extra)));
    EXPECT_TRUE(a.censored);
    EXPECT_EQ(a.turvakielto, std::optional<bool>(true));
    EXPECT_FALSE(a.lahiosoite.has_value());
    EXPECT_FALSE(a.postinumero.has_value());
    EXPECT_FALSE(a.postitoimipaikka.has_value());
    EXPECT_FALSE(a.postiosoite.has_value());
    EXPECT_FALSE(a.kotikunta.has_value());
    EXPECT_FALSE(a.kotikunta_nimi.has_value());
    // Identity stays.
    EXPECT_EQ(a.sukunimi, std::optional<std::string>("Mäkinen"));
    ASSERT_TRUE(well_formed(a.vastaus)) << a.vastaus;
    for (const char *name : kLocationElements)
        EXPECT_EQ(a.vastaus.find(name), std::string::npos) << name << " in " << a.vastaus;
    for (const char *v : {"Mikkolantie", "Mickelsvägen", "00940", "HELSINKI", "Helsinki", "091", "PL 12", "Mökkitie",
                          "KORPILAHTI", "900000041C1F028", "Storgatan", "Rue 1"})
        EXPECT_EQ(a.vastaus.find(v), std::string::npos) << v << " in " << a.vastaus;
    EXPECT_NE(a.vastaus.find("<Turvakielto><TurvakieltoTieto>1</TurvakieltoTieto>"), std::string::npos);
    // The allowlist shows no relatives either (a household member's name tells where one lives).
    EXPECT_EQ(a.vastaus.find("Lapsi"), std::string::npos);
    EXPECT_EQ(a.vastaus.find("Huollettava"), std::string::npos);
}

TEST(KyselyParse, UnknownTurvakieltoStateCensorsToo)
{
    std::string p = henkilo("0");
    const std::size_t b = p.find("<Turvakielto>"), e = p.find("</Turvakielto>") + 14;
    p.erase(b, e - b);
    k::Answer a = k::parse_answer(answer("0000", p));
    EXPECT_EQ(a.turvakielto, std::optional<bool>(true));
    EXPECT_TRUE(a.censored);
    EXPECT_FALSE(a.lahiosoite.has_value());
    EXPECT_EQ(a.vastaus.find("Mikkolantie"), std::string::npos);
    // An unexpected value of TurvakieltoTieto counts as in force.
    a = k::parse_answer(answer("0000", henkilo("K")));
    EXPECT_EQ(a.turvakielto, std::optional<bool>(true));
    EXPECT_TRUE(a.censored);
}

TEST(KyselyParse, CensoredAnswerOfTheCensoringAccount)
{
    // mutpT1x: the elements are present but empty; the result is the same.
    std::string p = "<Henkilo><Henkilotunnus voimassaolokoodi=\"1\">010190-900P</Henkilotunnus>"
                    "<NykyinenSukunimi><Sukunimi>Virtanen</Sukunimi></NykyinenSukunimi>"
                    "<VakinainenKotimainenLahiosoite><LahiosoiteS/><LahiosoiteR/><Postinumero/></VakinainenKotimainenLahiosoite>"
                    "<Kotikunta><Kuntanumero/><KuntaS/></Kotikunta>"
                    "<Turvakielto><TurvakieltoTieto>1</TurvakieltoTieto><TurvakieltoPaattymispvm/></Turvakielto></Henkilo>";
    k::Answer a = k::parse_answer(answer("0000", p));
    EXPECT_TRUE(a.censored);
    EXPECT_FALSE(a.kotikunta.has_value());
    EXPECT_EQ(a.vastaus.find("Kotikunta"), std::string::npos);
    EXPECT_EQ(a.sukunimi, std::optional<std::string>("Virtanen"));
}

TEST(KyselyParse, NamespacesDeclaredOnAncestorsSurviveInVastaus)
{
    const std::string body =
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:v=\"http://xml.vrk.fi/schema/vtjkysely\"><s:Body><r:HenkilonTunnusKyselyResponse "
        "xmlns:r=\"http://xml.vrk.fi/ws/vtj/vtjkysely/1\"><r:response><v:VTJHenkiloVastaussanoma>"
        "<v:Paluukoodi koodi=\"0000\">Haku onnistui</v:Paluukoodi><v:Henkilo><v:NykyinenSukunimi><v:Sukunimi>Ek"
        "</v:Sukunimi></v:NykyinenSukunimi><v:Turvakielto><v:TurvakieltoTieto>0</v:TurvakieltoTieto></v:Turvakielto>"
        "</v:Henkilo></v:VTJHenkiloVastaussanoma></r:response></r:HenkilonTunnusKyselyResponse></s:Body></s:Envelope>";
    k::Answer a = k::parse_answer(body);
    EXPECT_EQ(a.sukunimi, std::optional<std::string>("Ek"));
    ASSERT_TRUE(well_formed(a.vastaus)) << a.vastaus;
    EXPECT_NE(a.vastaus.find("xmlns:v=\"http://xml.vrk.fi/schema/vtjkysely\""), std::string::npos) << a.vastaus;
}

TEST(KyselyParse, Latin1AnswerIsReadAsUtf8)
{
    std::string body = answer("0000", henkilo("0"));
    auto swap = [&body](const std::string &from, const std::string &to) { body.replace(body.find(from), from.size(), to); };
    swap("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    // Every non-ASCII letter of the fixture in ISO-8859-1.
    swap("Mäkinen", "M\xe4kinen");
    swap("Matti Åke", "Matti \xc5ke");
    swap("Mickelsvägen 1 A 3", "Mickelsv\xe4gen 1 A 3");
    swap("Mökkitie", "M\xf6kkitie");
    k::Answer a = k::parse_answer(body);
    EXPECT_EQ(a.sukunimi, std::optional<std::string>("Mäkinen"));
    EXPECT_EQ(a.etunimet, std::optional<std::string>("Matti Åke"));
    EXPECT_NE(a.vastaus.find("Mäkinen"), std::string::npos);
}

// ---- fail closed: hostile answers of a protected (or unstated) person ----------------------------

// Every value of the fixture's location elements, and the marker the hostile variants carry.
const char *const kLocationValues[] = {"Mikkolantie", "Mickelsvägen", "00940", "HELSINKI", "Helsinki", "091", "PL 12",
                                       "Mökkitie", "KORPILAHTI", "900000041C1F028", "Piilokatu 7"};

void expect_no_location(const k::Answer &a, const std::string &what)
{
    EXPECT_TRUE(a.censored) << what;
    EXPECT_EQ(a.turvakielto, std::optional<bool>(true)) << what;
    for (const auto *col : {&a.lahiosoite, &a.postinumero, &a.postitoimipaikka, &a.postiosoite, &a.kotikunta, &a.kotikunta_nimi})
        EXPECT_FALSE(col->has_value()) << what;
    ASSERT_TRUE(well_formed(a.vastaus)) << what << ": " << a.vastaus;
    for (const char *v : kLocationValues)
        EXPECT_EQ(a.vastaus.find(v), std::string::npos) << what << ": " << v << " in " << a.vastaus;
    EXPECT_EQ(a.vastaus.find("<!--"), std::string::npos) << what;
    EXPECT_EQ(a.vastaus.find("<?"), std::string::npos) << what;
    EXPECT_EQ(a.vastaus.find("CDATA"), std::string::npos) << what;
    EXPECT_NE(a.vastaus.find("Mäkinen"), std::string::npos) << what << ": the name is shown";
}

std::string with(std::string p, const std::string &from, const std::string &to)
{
    const std::size_t at = p.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
        p.replace(at, from.size(), to);
    return p;
}

TEST(KyselyFailClosed, OnlyAPlainZeroLiftsTheProtection)
{
    const std::string tieto0 = "<TurvakieltoTieto>0</TurvakieltoTieto>";
    const std::pair<const char *, std::string> cases[] = {
        {"empty", with(henkilo("0"), tieto0, "<TurvakieltoTieto></TurvakieltoTieto>")},
        {"self-closed", with(henkilo("0"), tieto0, "<TurvakieltoTieto/>")},
        {"blank", with(henkilo("0"), tieto0, "<TurvakieltoTieto>  </TurvakieltoTieto>")},
        {"no TurvakieltoTieto", with(henkilo("0"), tieto0, "")},
        {"other value", henkilo("2")},
        {"false", henkilo("false")},
        {"two values", with(henkilo("0"), tieto0, tieto0 + "<TurvakieltoTieto>1</TurvakieltoTieto>")},
        {"two Turvakielto", henkilo("0", "<Turvakielto><TurvakieltoTieto>1</TurvakieltoTieto></Turvakielto>")},
        {"element inside", with(henkilo("0"), tieto0, "<TurvakieltoTieto><x>0</x></TurvakieltoTieto>")},
        {"comment inside", with(henkilo("0"), tieto0, "<TurvakieltoTieto>0<!-- 1 --></TurvakieltoTieto>")},
        {"CDATA", with(henkilo("0"), tieto0, "<TurvakieltoTieto><![CDATA[0]]></TurvakieltoTieto>")},
        {"two persons", henkilo("0") + henkilo("0")},
    };
    for (const auto &c : cases)
        expect_no_location(k::parse_answer(answer("0000", c.second)), c.first);
    // " 0 " with surrounding whitespace is still the plain "0".
    k::Answer a = k::parse_answer(answer("0000", with(henkilo("0"), tieto0, "<TurvakieltoTieto> 0 </TurvakieltoTieto>")));
    EXPECT_FALSE(a.censored);
    EXPECT_EQ(a.turvakielto, std::optional<bool>(false));
}

TEST(KyselyFailClosed, VastausOfAProtectedPersonIsBuiltFromTheAllowlist)
{
    const std::string mark = "Piilokatu 7 B 12";
    const std::pair<const char *, std::string> cases[] = {
        {"comment", henkilo("1", "<!-- " + mark + " -->")},
        {"comment in a name", with(henkilo("1"), "<Sukunimi>Mäkinen", "<Sukunimi>Mäkinen<!-- " + mark + " -->")},
        {"processing instruction", henkilo("1", "<?osoite " + mark + "?>")},
        {"CDATA in a container", henkilo("1", "<![CDATA[" + mark + "]]>")},
        {"text in a container", henkilo("1", mark)},
        {"unknown element", henkilo("1", "<Lisatieto><Katu>" + mark + "</Katu></Lisatieto>")},
        {"unknown leaf", henkilo("1", "<Huomautus>" + mark + "</Huomautus>")},
        {"attribute on Henkilo", with(henkilo("1"), "<Henkilo>", "<Henkilo osoite=\"" + mark + "\">")},
        {"attribute on a shown leaf", with(henkilo("1"), "<Sukunimi>", "<Sukunimi katu=\"" + mark + "\">")},
        {"namespaced attribute", with(henkilo("1"), "<Sukunimi>", "<Sukunimi xmlns:o=\"urn:o\" o:voimassaolokoodi=\"" + mark + "\">")},
        {"listed name in another namespace",
         henkilo("1", "<NykyinenSukunimi xmlns=\"urn:other\"><Sukunimi>" + mark + "</Sukunimi></NykyinenSukunimi>")},
        {"a listed name under an unlisted parent", henkilo("1", "<Osoite><Sukunimi>" + mark + "</Sukunimi></Osoite>")},
    };
    for (const auto &c : cases) {
        k::Answer a = k::parse_answer(answer("0000", c.second));
        expect_no_location(a, c.first);
        EXPECT_EQ(a.vastaus.find("Piilokatu"), std::string::npos) << c.first << ": " << a.vastaus;
    }
    // What stays: identity, the answer's bookkeeping, the turvakielto itself.
    k::Answer a = k::parse_answer(answer("0000", henkilo("1")));
    EXPECT_EQ(xml_text(a.vastaus, "Sukunimi"), "Mäkinen");
    EXPECT_EQ(xml_text(a.vastaus, "Etunimet"), "Matti Åke");
    EXPECT_EQ(xml_text(a.vastaus, "Kielikoodi"), "fi");
    EXPECT_EQ(xml_text(a.vastaus, "Sukupuolikoodi"), "1");
    EXPECT_EQ(xml_text(a.vastaus, "TurvakieltoPaattymispvm"), "20301231");
    EXPECT_EQ(xml_text(a.vastaus, "Paluukoodi"), "Haku onnistui");
    EXPECT_NE(a.vastaus.find("<Paluukoodi koodi=\"0000\">"), std::string::npos) << a.vastaus;
    EXPECT_NE(a.vastaus.find("voimassaolokoodi=\"1\">010190-900P</Henkilotunnus>"), std::string::npos) << a.vastaus;
    EXPECT_EQ(a.vastaus.rfind("<VTJHenkiloVastaussanoma xmlns=\"http://xml.vrk.fi/schema/vtjkysely\" sanomatunnus=\"PERUSSANOMA 3\"", 0),
              0u)
        << a.vastaus;
    // An unprotected person's answer is shown as received.
    a = k::parse_answer(answer("0000", henkilo("0", "<!-- kommentti -->")));
    EXPECT_FALSE(a.censored);
    EXPECT_NE(a.vastaus.find("Mikkolantie 1 A 3"), std::string::npos);
}

// ---- no byte of an answer in an error ----------------------------------------------------------

TEST(KyselyErrors, ParseErrorsNameNoContent)
{
    const std::string mark = "Salaosoite";  // where the parser stops
    const std::pair<const char *, std::string> cases[] = {
        {"undeclared entity", answer("0000", henkilo("1", "<X>&" + mark + "9;</X>"))},
        {"tag mismatch", answer("0000", henkilo("1", "<" + mark + "Katu>x</" + mark + "Tie>"))},
        {"bad attribute", answer("0000", henkilo("1", "<X " + mark + "=x/>"))},
        {"bad name", answer("0000", henkilo("1", "<" + mark + " <"))},
        {"cut", answer("0000", henkilo("1", "<" + mark + "Katu>")).substr(0, answer("0000", henkilo("1")).size() / 2 + 400)},
        {"two roots", answer("0000", henkilo("1")) + "<" + mark + "/>"},
        {"bad character reference", answer("0000", henkilo("1", "<X>&#0;" + mark + "</X>"))},
        {"invalid UTF-8", answer("0000", henkilo("1", "<X>" + mark + "\xff\xfe" + mark + "</X>"))},
        {"invalid UTF-8 in ISO-8859-1 text", with(answer("0000", henkilo("1", "<" + mark + "\x01/>")), "UTF-8", "ISO-8859-1")},
    };
    for (const auto &c : cases) {
        Error e = expect_error([&] { k::parse_answer(c.second); });
        EXPECT_EQ(e.kind(), ErrorKind::BadResponse) << c.first << ": " << all_text(e);
        EXPECT_EQ(all_text(e).find(mark), std::string::npos) << c.first << ": " << all_text(e);
        EXPECT_EQ(all_text(e).find("0xFF"), std::string::npos) << c.first << ": " << all_text(e);
        EXPECT_EQ(all_text(e).find("Mäkinen"), std::string::npos) << c.first << ": " << all_text(e);
    }
    Error e = expect_error([&] { k::parse_answer(cases[1].second); });
    EXPECT_NE(std::string(e.what()).find("not well-formed XML (libxml2 error 76, line 1, column"), std::string::npos) << e.what();
}

// ---- hostile SOAP answers --------------------------------------------------------------------

TEST(KyselyHostile, DeepNestingIsRefused)
{
    std::string deep;
    for (int i = 0; i < 100000; ++i)
        deep += "<a>";
    for (int i = 0; i < 100000; ++i)
        deep += "</a>";
    Error e = expect_error([&] { k::parse_answer(answer("0000", henkilo("0", deep))); });
    EXPECT_EQ(e.kind(), ErrorKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("not well-formed"), std::string::npos) << e.what();
}

TEST(KyselyHostile, EncodingsOtherThanTheLabelSaysAreRefused)
{
    const std::string utf8 = answer("0000", henkilo("0"));
    const std::pair<const char *, std::string> refused[] = {
        {"UTF-8 body labelled ISO-8859-1", with(utf8, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"")},
        {"labelled UTF-16", with(utf8, "encoding=\"UTF-8\"", "encoding=\"UTF-16\"")},
        {"labelled EBCDIC", with(utf8, "encoding=\"UTF-8\"", "encoding='IBM037'")},
        {"labelled windows-1252", with(utf8, "encoding=\"UTF-8\"", "encoding=\"windows-1252\"")},
        {"invalid UTF-8", with(utf8, "Mäkinen", "M\xe4kinen")},
        {"overlong UTF-8", with(utf8, "Mäkinen", "M\xc0\xafkinen")},
        {"UTF-16 byte order mark", std::string("\xff\xfe", 2) + utf8},
        {"a surrogate", with(utf8, "Mäkinen", "M\xed\xa0\x80kinen")},
    };
    for (const auto &c : refused) {
        Error e = expect_error([&] { k::parse_answer(c.second); });
        EXPECT_EQ(e.kind(), ErrorKind::BadResponse) << c.first;
    }
    EXPECT_NE(std::string(expect_error([&] { k::parse_answer(refused[4].second); }).what()).find("not valid UTF-8 (at byte "),
              std::string::npos);
    // No label, a UTF-8 byte order mark, lowercase utf-8: read.
    EXPECT_EQ(k::parse_answer(with(utf8, " encoding=\"UTF-8\"", "")).sukunimi, std::optional<std::string>("Mäkinen"));
    EXPECT_EQ(k::parse_answer("\xef\xbb\xbf" + utf8).sukunimi, std::optional<std::string>("Mäkinen"));
    EXPECT_EQ(k::parse_answer(with(utf8, "UTF-8", "utf-8")).sukunimi, std::optional<std::string>("Mäkinen"));
}

TEST(KyselyHostile, XIncludeEntitiesAndHugeAttributesAreRefused)
{
    Error e = expect_error([] {
        k::parse_answer(answer("0000", henkilo("0", "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/passwd\" parse=\"text\"/>")));
    });
    EXPECT_EQ(e.kind(), ErrorKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("XInclude"), std::string::npos) << e.what();
    e = expect_error([] {
        k::parse_answer(answer("0000", henkilo("0", "<X xmlns:xi=\"http://www.w3.org/2003/XInclude\" xi:href=\"file:///etc/passwd\"/>")));
    });
    EXPECT_NE(std::string(e.what()).find("XInclude"), std::string::npos) << e.what();
    // An external entity needs a DOCTYPE: refused unread.
    std::string xxe = answer("0000", henkilo("0", "<X>&xxe;</X>"));
    xxe.insert(xxe.find("?>") + 2, "<!DOCTYPE S [<!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>");
    EXPECT_NE(std::string(expect_error([&] { k::parse_answer(xxe); }).what()).find("DOCTYPE"), std::string::npos);
    // A huge attribute.
    const std::string big(1u << 20, 'A');
    e = expect_error([&] { k::parse_answer(answer("0000", with(henkilo("0"), "<Henkilo>", "<Henkilo x=\"" + big + "\">"))); });
    EXPECT_EQ(e.kind(), ErrorKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("attribute value of 1048576 bytes"), std::string::npos) << e.what();
    EXPECT_EQ(all_text(e).find("AAAA"), std::string::npos);
}

// ---- the HTTP driver ----------------------------------------------------------------------------

std::vector<std::string> test_hetus(int n)
{
    std::vector<std::string> out;
    for (int i = 0; static_cast<int>(out.size()) < n; ++i) {
        char digits[32];
        snprintf(digits, sizeof digits, "%02d0190%03d", 1 + i % 28, 900 + (i / 28) % 100);
        const std::string nine(digits, 9);
        out.push_back(nine.substr(0, 6) + "-" + nine.substr(6, 3) + vtj::hetu_check_char(nine));
    }
    return out;
}

TEST(KyselyFetch, OneRequestPerHetuConcurrentlyAnswersInOrder)
{
    vtj_test::TestHttpServer server([](const vtj_test::ReceivedRequest &r) {
        vtj_test::Reply reply;
        reply.delay_ms = 50;
        reply.headers = {"Content-Type: text/xml; charset=utf-8"};
        reply.body = "<answer>" + xml_text(r.body, "Henkilotunnus") + "</answer>";
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpConfig server_config;
    server_config.username = kUser;
    server_config.password = kPassword;
    server_config.max_parallel = 3;
    vtj::HttpClient client(k::http_config(server_config));
    const std::vector<std::string> hetus = test_hetus(10);
    std::vector<std::string> got = k::fetch_answers(client, s, hetus);
    ASSERT_EQ(got.size(), hetus.size());
    for (std::size_t i = 0; i < hetus.size(); ++i)
        EXPECT_EQ(got[i], "<answer>" + hetus[i] + "</answer>");
    EXPECT_EQ(server.request_count(), 10);
    EXPECT_LE(server.max_concurrent_requests(), 3);
    EXPECT_GE(server.max_concurrent_requests(), 2);
    std::set<std::string> ids;
    for (const auto &r : server.requests()) {
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.target, "/vtjkysely");
        EXPECT_EQ(r.header("Content-Type"), "text/xml; charset=utf-8");
        EXPECT_TRUE(r.has_header("SOAPAction"));
        EXPECT_FALSE(r.has_header("Authorization"));  // credentials travel in the SOAP body only
        EXPECT_FALSE(r.has_header("X-Road-Client"));
        EXPECT_EQ(xml_text(r.body, "Kayttajatunnus"), kUser);
        EXPECT_EQ(xml_text(r.body, "Salasana"), kPassword);
        ids.insert(xml_text(r.body, "id"));
    }
    EXPECT_EQ(ids.size(), 10u);
}

TEST(KyselyFetch, SoapFaultWithHttp500IsTheSameClearError)
{
    vtj_test::TestHttpServer server([](const vtj_test::ReceivedRequest &) {
        vtj_test::Reply reply;
        reply.status = 500;
        reply.headers = {"Content-Type: text/xml; charset=utf-8"};
        reply.body = soap_fault("SOAP-ENV:Client", "Authentication failed: invalid Kayttajatunnus or Salasana");
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpConfig c;
    c.max_retries = 3;
    c.backoff_base_ms = 10;
    vtj::HttpClient client(k::http_config(c));
    Error e = expect_error([&] { k::fetch_answers(client, s, {kHetu}, k::retry_policy(c, nullptr)); });
    EXPECT_EQ(e.kind(), ErrorKind::HttpStatus);
    EXPECT_EQ(e.http_status(), 500);
    EXPECT_EQ(server.request_count(), 1);  // a fault is final: a refused password is never repeated
    EXPECT_NE(std::string(e.what()).find("refused the credentials"), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find("Authentication failed"), std::string::npos) << e.detail();
    EXPECT_NE(e.hint().find("user mapping"), std::string::npos);
}

TEST(KyselyFetch, TransientFailuresAreRetriedAndFaultsAreNot)
{
    std::atomic<int> calls{0};
    vtj_test::TestHttpServer server([&calls](const vtj_test::ReceivedRequest &r) {
        vtj_test::Reply reply;
        const int n = calls++;
        if (n < 2) {
            reply.status = n == 0 ? 503 : 502;
            reply.body = "<html><title>busy</title></html>";
            reply.headers = {"Content-Type: text/html"};
        } else {
            reply.body = "<answer>" + xml_text(r.body, "Henkilotunnus") + "</answer>";
        }
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpConfig c;
    c.max_retries = 3;
    c.backoff_base_ms = 10;
    c.max_parallel = 1;
    vtj::HttpClient client(k::http_config(c));
    std::uint64_t retries = 0;
    const std::vector<std::string> hetus = test_hetus(3);
    std::vector<std::string> got = k::fetch_answers(client, s, hetus, k::retry_policy(c, nullptr), &retries);
    for (std::size_t i = 0; i < hetus.size(); ++i)
        EXPECT_EQ(got[i], "<answer>" + hetus[i] + "</answer>");
    EXPECT_EQ(server.request_count(), 5);  // two failed attempts of the first look-up, then three answers
    EXPECT_EQ(retries, 6u);                // every look-up without an answer is sent again, twice

    // Exhausted retries: the last failure, in VTJkysely's words.
    calls = -100;
    vtj::HttpClient client2(k::http_config(c));
    Error e = expect_error([&] { k::fetch_answers(client2, s, {kHetu}, k::retry_policy(c, nullptr)); });
    EXPECT_EQ(e.http_status(), 502);
    EXPECT_EQ(server.request_count(), 5 + 4);  // the first attempt and three retries
}

TEST(KyselyFetch, AConnectionResetInTheMiddleOfAnAnswerIsRetried)
{
    std::atomic<int> calls{0};
    vtj_test::TestHttpServer server([&calls](const vtj_test::ReceivedRequest &r) {
        vtj_test::Reply reply;
        reply.body = "<answer>" + xml_text(r.body, "Henkilotunnus") + "</answer>";
        if (calls++ == 0) {  // headers with the full length, half the body, then a TCP reset
            reply.cut_after = reply.body.size() / 2;
            reply.reset = true;
        }
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpConfig c;
    c.max_retries = 2;
    c.backoff_base_ms = 10;
    vtj::HttpClient client(k::http_config(c));
    std::uint64_t retries = 0;
    std::vector<std::string> got = k::fetch_answers(client, s, {kHetu}, k::retry_policy(c, nullptr), &retries);
    EXPECT_EQ(got[0], std::string("<answer>") + kHetu + "</answer>");
    EXPECT_EQ(server.request_count(), 2);
    EXPECT_EQ(retries, 1u);
    // With no retries left, the cut answer is a BadResponse that says so.
    calls = 0;
    c.max_retries = 0;
    vtj::HttpClient client2(k::http_config(c));
    Error e = expect_error([&] { k::fetch_answers(client2, s, {kHetu}, k::retry_policy(c, nullptr)); });
    EXPECT_EQ(e.kind(), ErrorKind::BadResponse);
    EXPECT_NE(std::string(e.what()).find("cut short"), std::string::npos) << e.what();
}

TEST(KyselyFetch, BackoffIsJitteredAndHonoursRetryAfter)
{
    k::RetryPolicy r;
    r.backoff_base_ms = 1000;
    r.backoff_cap_ms = 30000;
    std::set<long> seen;
    for (int i = 0; i < 200; ++i) {
        const long ms = k::backoff_ms(r, 1, -1);  // the second round: 2000 ms ± 20 %
        EXPECT_GE(ms, 1600);
        EXPECT_LE(ms, 2400);
        seen.insert(ms);
    }
    EXPECT_GT(seen.size(), 10u) << "jittered";
    EXPECT_LE(k::backoff_ms(r, 20, -1), 30000);                 // capped
    EXPECT_GE(k::backoff_ms(r, 0, 7000), 7000);                 // never sooner than Retry-After
    EXPECT_EQ(k::backoff_ms(r, 0, 600000), 30000);              // but no longer than the cap

    // A 429 with Retry-After: 1 waits at least a second although the backoff base is 10 ms.
    std::atomic<int> calls{0};
    vtj_test::TestHttpServer server([&calls](const vtj_test::ReceivedRequest &) {
        vtj_test::Reply reply;
        if (calls++ == 0) {
            reply.status = 429;
            reply.headers = {"Retry-After: 1"};
        } else {
            reply.body = "<answer/>";
        }
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpConfig c;
    c.max_retries = 1;
    c.backoff_base_ms = 10;
    vtj::HttpClient client(k::http_config(c));
    k::fetch_answers(client, s, {kHetu}, k::retry_policy(c, nullptr));
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(reqs[1].arrived - reqs[0].arrived).count(), 950);
}

TEST(KyselyFetch, BackoffNoticesAnInterrupt)
{
    vtj_test::TestHttpServer server([](const vtj_test::ReceivedRequest &) {
        vtj_test::Reply reply;
        reply.status = 503;
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpConfig c;
    c.max_retries = 5;
    c.backoff_base_ms = 60000;
    vtj::HttpClient client(k::http_config(c));
    static std::atomic<int> asked{0};
    asked = 0;
    const auto t0 = std::chrono::steady_clock::now();
    Error e = expect_error([&] {
        k::fetch_answers(client, s, {kHetu}, k::retry_policy(c, []() noexcept { return ++asked > 5; }));
    });
    EXPECT_EQ(e.kind(), ErrorKind::Cancelled);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(KyselyFetch, CredentialsEchoedInAnErrorPageAreScrubbed)
{
    vtj_test::TestHttpServer server([](const vtj_test::ReceivedRequest &r) {
        vtj_test::Reply reply;
        reply.status = 400;
        reply.headers = {"Content-Type: text/plain"};
        reply.body = "bad request for " + xml_text(r.body, "Henkilotunnus") + " by " + xml_text(r.body, "Kayttajatunnus") +
                     " with " + xml_text(r.body, "Salasana");
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpClient client(k::http_config(vtj::HttpConfig{}));
    Error e = expect_error([&] { k::fetch_answers(client, s, {kHetu}); });
    EXPECT_EQ(e.kind(), ErrorKind::HttpStatus);
    const std::string t = all_text(e);
    EXPECT_EQ(t.find(kPassword), std::string::npos) << t;
    EXPECT_EQ(t.find(kUser), std::string::npos) << t;
    EXPECT_EQ(t.find(kHetu), std::string::npos) << t;
    EXPECT_NE(t.find("HTTP 400"), std::string::npos) << t;
}

TEST(KyselyFetch, OversizedAnswerIsBounded)
{
    vtj_test::TestHttpServer server([](const vtj_test::ReceivedRequest &) {
        vtj_test::Reply reply;
        reply.stream_bytes = 3u << 20;
        return reply;
    });
    k::RequestSettings s = settings();
    s.url = server.url("/vtjkysely");
    vtj::HttpConfig c;
    c.max_response_bytes = 1u << 20;
    vtj::HttpClient client(k::http_config(c));
    Error e = expect_error([&] { k::fetch_answers(client, s, {kHetu}); });
    EXPECT_EQ(e.kind(), ErrorKind::ResponseTooLarge);
    EXPECT_NE(e.hint().find("kysely_url"), std::string::npos) << e.hint();
}

}  // namespace
