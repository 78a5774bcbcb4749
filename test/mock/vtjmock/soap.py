"""VTJkysely (SOAP 1.1): HenkilonTunnusKysely with a PERUSSANOMA 3 answer,
docs/interface.md#variant-1-over-x-road (X-Road), plus the legacy TeeHenkilonTunnusKysely
(variant 2) in the same shape.

The answer echoes the X-Road headers and the request (password blanked).
Dates are YYYYMMDD, flags "1"/"0", and empty elements are present rather
than omitted.  On the censoring account (mutpT1x) a protected person's
address and municipality elements are present but empty.
"""
import base64
import hashlib
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from . import refdata as R
from .censor import is_protected
from .timeutil import helsinki_date, yyyymmdd

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_XRD = "http://x-road.eu/xsd/xroad.xsd"
NS_ID = "http://x-road.eu/xsd/identifiers"
NS_KYSELY = "http://xml.vrk.fi/ws/vtj/vtjkysely/1"
NS_VASTAUS = "http://xml.vrk.fi/schema/vtjkysely"
NS_TEMPURI = "http://tempuri.org/"
ET.register_namespace("xrd", NS_XRD)
ET.register_namespace("id", NS_ID)

REQUEST_FIELDS = ["SoSoNimi", "Kayttajatunnus", "Salasana", "Loppukayttaja", "Laskutustiedot",
                  "Henkilotunnus", "SahkoinenAsiointitunnus", "VarmenteenMyontaja",
                  "X509Certificate", "VarmenteenVoimassaolotarkistus",
                  "VarmenteenSulkulistatarkistus", "Tunnistusportaali", "Vara1"]
PALUUKOODIT = {"0000": "Haku onnistui", "0001": "Haulla ei löytynyt tietoja",
               "0002": "Henkilötunnus on passivoitu", "0006": "Henkilö ei ole luovutettavissa",
               "0009": "Tietojen luovutus estetty", "0018": "Haku onnistui, henkilöllä turvakielto"}
CONTENT_TYPE = "text/xml; charset=utf-8"


class SoapError(Exception):
    def __init__(self, faultcode, faultstring):
        super().__init__(faultstring)
        self.faultcode = faultcode
        self.faultstring = faultstring


def _local(tag):
    return tag.rsplit("}", 1)[-1]


class KyselyRequest:
    def __init__(self):
        self.fields = {}
        self.header_xml = []
        self.legacy = False
        self.raw = b""


def parse_request(body):
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise SoapError("SOAP-ENV:Client", "Malformed request XML: %s" % e)
    if _local(root.tag) != "Envelope":
        raise SoapError("SOAP-ENV:Client", "Not a SOAP envelope")
    req = KyselyRequest()
    req.raw = body
    soap_body = None
    for child in root:
        name = _local(child.tag)
        if name == "Header":
            for h in child:
                req.header_xml.append(ET.tostring(h, encoding="unicode"))
        elif name == "Body":
            soap_body = child
    if soap_body is None or len(soap_body) == 0:
        raise SoapError("SOAP-ENV:Client", "Empty SOAP body")
    op = soap_body[0]
    opname = _local(op.tag)
    if opname == "HenkilonTunnusKysely":
        holder = None
        for c in op:
            if _local(c.tag) == "request":
                holder = c
        if holder is None:
            raise SoapError("SOAP-ENV:Client", "HenkilonTunnusKysely without request")
    elif opname == "TeeHenkilonTunnusKysely":
        holder = op
        req.legacy = True
    else:
        raise SoapError("SOAP-ENV:Client", "Unknown operation %s" % opname)
    for c in holder:
        req.fields[_local(c.tag)] = (c.text or "").strip()
    return req


def _el(name, value=""):
    if value is None or value == "":
        return "<%s/>" % name
    return "<%s>%s</%s>" % (name, escape(str(value)), name)


def _group(name, children):
    return "<%s>%s</%s>" % (name, "".join(_el(k, v) for k, v in children), name)


def _street_line(rec, lang):
    name = rec["katunimi"].get(lang) or rec["katunimi"].get("fi", "")
    parts = [name, rec.get("katunumero", "")]
    if rec.get("huoneistokirjain"):
        parts.append(rec["huoneistokirjain"])
    if rec.get("huoneistonumero"):
        parts.append(str(int(rec["huoneistonumero"])))
    line = " ".join(p for p in parts if p)
    if rec.get("jakokirjain"):
        line += " " + rec["jakokirjain"]
    return line


def _first(state, t):
    recs = state.get(t)
    return recs[0] if recs else None


def henkilo_xml(state, hetu, censored, today):
    out = ["<Henkilo>", '<Henkilotunnus voimassaolokoodi="1">%s</Henkilotunnus>' % escape(hetu)]
    nimi = _first(state, "HENKILON_NIMI") or {}
    out.append(_group("NykyinenSukunimi", [("Sukunimi", nimi.get("sukunimiUTF8", nimi.get("sukunimi", "")))]))
    out.append(_group("NykyisetEtunimet", [("Etunimet", nimi.get("etunimiUTF8", nimi.get("etunimi", "")))]))
    vko = None if censored else _first(state, "VAKINAINEN_KOTIMAINEN_OSOITE")
    out.append(_group("VakinainenKotimainenLahiosoite", [
        ("LahiosoiteS", _street_line(vko, "fi") if vko else ""),
        ("LahiosoiteR", _street_line(vko, "sv") if vko else ""),
        ("Postinumero", vko["postinumero"] if vko else ""),
        ("PostitoimipaikkaS", vko["postitoimipaikka"].get("fi", "") if vko else ""),
        ("PostitoimipaikkaR", (vko["postitoimipaikka"].get("sv") or vko["postitoimipaikka"].get("fi", "")) if vko else ""),
        ("AsuminenAlkupvm", yyyymmdd(vko.get("alkupv")) if vko else ""),
        ("AsuminenLoppupvm", yyyymmdd(vko.get("loppupv")) if vko else "")]))
    vuo = None if censored else _first(state, "VAKINAINEN_ULKOMAINEN_OSOITE")
    country = R.COUNTRY_BY_CODE.get(vuo["valtiokoodi"]) if vuo else None
    place_s = place_r = ""
    if vuo:
        cname_s = country[1] if country else vuo.get("valtionimi", "")
        cname_r = country[2] if country else vuo.get("valtionimi", "")
        place_s = "%s, %s" % (vuo["paikkakunta"], cname_s)
        place_r = "%s, %s" % (vuo["paikkakunta"], cname_r)
    out.append(_group("VakinainenUlkomainenLahiosoite", [
        ("UlkomainenLahiosoite", vuo["lahiosoite"] if vuo else ""),
        ("UlkomainenPaikkakuntaJaValtioS", place_s),
        ("UlkomainenPaikkakuntaJaValtioR", place_r),
        ("UlkomainenPaikkakuntaJaValtioSelvakielinen", ""),
        ("Valtiokoodi3", vuo["valtiokoodi"] if vuo else ""),
        ("AsuminenAlkupvm", yyyymmdd(vuo.get("alkupv")) if vuo else ""),
        ("AsuminenLoppupvm", "")]))
    tko = None if censored else _first(state, "TILAPAINEN_KOTIMAINEN_OSOITE")
    out.append(_group("TilapainenKotimainenLahiosoite", [
        ("LahiosoiteS", _street_line(tko, "fi") if tko else ""),
        ("LahiosoiteR", _street_line(tko, "sv") if tko else ""),
        ("Postinumero", tko["postinumero"] if tko else ""),
        ("PostitoimipaikkaS", tko["postitoimipaikka"].get("fi", "") if tko else ""),
        ("PostitoimipaikkaR", (tko["postitoimipaikka"].get("sv") or tko["postitoimipaikka"].get("fi", "")) if tko else ""),
        ("AsuminenAlkupvm", yyyymmdd(tko.get("alkupv")) if tko else ""),
        ("AsuminenLoppupvm", "")]))
    kpo = None if censored else _first(state, "KOTIMAINEN_POSTIOSOITE")
    out.append(_group("KotimainenPostiosoite", [
        ("PostiosoiteS", kpo["postiosoite"].get("fi", "") if kpo else ""),
        ("PostiosoiteR", (kpo["postiosoite"].get("sv") or kpo["postiosoite"].get("fi", "")) if kpo else ""),
        ("Postinumero", kpo["postinumero"] if kpo else ""),
        ("PostitoimipaikkaS", kpo["postitoimipaikka"].get("fi", "") if kpo else ""),
        ("PostitoimipaikkaR", (kpo["postitoimipaikka"].get("sv") or kpo["postitoimipaikka"].get("fi", "")) if kpo else ""),
        ("PostiosoiteAlkupvm", yyyymmdd(kpo.get("alkupv")) if kpo else ""),
        ("PostiosoiteLoppupvm", "")]))
    kk = None if censored else _first(state, "KOTIKUNTA")
    muni = R.MUNI_BY_CODE.get(kk["kuntakoodi"]) if kk else None
    out.append(_group("Kotikunta", [
        ("Kuntanumero", kk["kuntakoodi"] if kk else ""),
        ("KuntaS", muni[1] if muni else ""),
        ("KuntaR", muni[2] if muni else ""),
        ("KuntasuhdeAlkupvm", yyyymmdd(kk.get("kuntaanMuuttopv")) if kk else "")]))
    kp = _first(state, "KUOLINPAIVA")
    dead = bool(kp and kp.get("kuollut"))
    out.append(_group("Kuolintiedot", [("Kuollut", "1" if dead else ""),
                                       ("Kuolinpvm", yyyymmdd(kp.get("kuolinpv")) if dead else "")]))
    ak = _first(state, "AIDINKIELI")
    lang = R.LANGUAGES.get(ak["kielikoodi"]) if ak else None
    out.append(_group("Aidinkieli", [
        ("Kielikoodi", ak["kielikoodi"] if ak else ""),
        ("KieliS", lang[1] if lang else ""),
        ("KieliR", lang[2] if lang else ""),
        ("KieliSelvakielinen", ak.get("nimi", "") if ak else "")]))
    tk = _first(state, "TURVAKIELTO")
    out.append(_group("Turvakielto", [
        ("TurvakieltoTieto", "1" if is_protected(state, today) else "0"),
        ("TurvakieltoPaattymispvm", yyyymmdd(tk.get("turvaLoppuPv")) if tk else "")]))
    sp = _first(state, "SUKUPUOLI")
    male = sp and sp["sukupuoli"] == "MIES"
    out.append(_group("Sukupuoli", [
        ("Sukupuolikoodi", ("1" if male else "2") if sp else ""),
        ("SukupuoliS", ("Mies" if male else "Nainen") if sp else ""),
        ("SukupuoliR", ("Man" if male else "Kvinna") if sp else "")]))
    out.append("</Henkilo>")
    return "".join(out)


def vastaussanoma(koodi, hetu_queried, henkilo, found):
    now = time.gmtime()
    stamp = time.strftime("%Y%m%d%H%M%S", now)
    info = time.strftime("%d.%m.%Y %H:%M", now)
    hp = ('<Henkilotunnus hakuperustePaluukoodi="1" hakuperusteTekstiE="Found" '
          'hakuperusteTekstiR="Hittades" hakuperusteTekstiS="Löytyi">%s</Henkilotunnus>'
          if found else
          '<Henkilotunnus hakuperustePaluukoodi="0" hakuperusteTekstiE="Not found" '
          'hakuperusteTekstiR="Hittades inte" hakuperusteTekstiS="Ei löytynyt">%s</Henkilotunnus>')
    return ('<VTJHenkiloVastaussanoma xmlns="%s" sanomatunnus="PERUSSANOMA 3" '
            'tietojenPoimintaaika="%s" versio="1.0">'
            '<Asiakasinfo><InfoS>%s</InfoS><InfoR>%s</InfoR><InfoE>%s</InfoE></Asiakasinfo>'
            '<Paluukoodi koodi=%s>%s</Paluukoodi><Hakuperusteet>%s</Hakuperusteet>%s'
            '</VTJHenkiloVastaussanoma>') % (
        NS_VASTAUS, stamp, info, info, info, quoteattr(koodi),
        escape(PALUUKOODIT.get(koodi, "Virhe haussa")), hp % escape(hetu_queried), henkilo or "")


def envelope(req, inner):
    headers = "".join(req.header_xml)
    if req.header_xml:
        digest = base64.b64encode(hashlib.sha512(req.raw).digest()).decode()
        headers += ('<xrd:requestHash algorithmId="http://www.w3.org/2001/04/xmlenc#sha512">%s'
                    '</xrd:requestHash>' % digest)
    if req.legacy:
        body = ('<TeeHenkilonTunnusKyselyResponse xmlns="%s"><TeeHenkilonTunnusKyselyResult>%s'
                '</TeeHenkilonTunnusKyselyResult></TeeHenkilonTunnusKyselyResponse>') % (NS_TEMPURI, inner)
    else:
        echo = "".join(_el(k, "" if k == "Salasana" else v) for k, v in req.fields.items())
        body = ('<HenkilonTunnusKyselyResponse xmlns="%s"><request>%s</request><response>%s'
                '<faultCode/><faultString/></response></HenkilonTunnusKyselyResponse>') % (
            NS_KYSELY, echo, inner)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="%s" xmlns:xrd="%s" xmlns:id="%s">'
            '<SOAP-ENV:Header>%s</SOAP-ENV:Header><SOAP-ENV:Body>%s</SOAP-ENV:Body>'
            '</SOAP-ENV:Envelope>') % (NS_SOAP, NS_XRD, NS_ID, headers, body)


def fault_xml(faultcode, faultstring):
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="%s"><SOAP-ENV:Body><SOAP-ENV:Fault>'
            '<faultcode>%s</faultcode><faultstring>%s</faultstring><detail/>'
            '</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>') % (
        NS_SOAP, escape(faultcode), escape(faultstring))


def entity_attack_xml():
    """Billion laughs: nested entities a naive parser expands to ~3 GB."""
    ents = ['<!ENTITY lol0 "lol">']
    for n in range(1, 10):
        ents.append('<!ENTITY lol%d "%s">' % (n, ("&lol%d;" % (n - 1)) * 10))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE SOAP-ENV:Envelope [\n  %s\n]>\n'
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="%s"><SOAP-ENV:Body>'
            '<HenkilonTunnusKyselyResponse xmlns="%s"><response>'
            '<VTJHenkiloVastaussanoma xmlns="%s" sanomatunnus="PERUSSANOMA 3">'
            '<Paluukoodi koodi="0000">Haku onnistui</Paluukoodi><Henkilo>'
            '<NykyinenSukunimi><Sukunimi>&lol9;</Sukunimi></NykyinenSukunimi>'
            '</Henkilo></VTJHenkiloVastaussanoma></response></HenkilonTunnusKyselyResponse>'
            '</SOAP-ENV:Body></SOAP-ENV:Envelope>') % (
        "\n  ".join(ents), NS_SOAP, NS_KYSELY, NS_VASTAUS)


class Kysely:
    """Answers one parsed request against the world."""

    def __init__(self, world, auth):
        self.world = world
        self.auth = auth

    def answer(self, req, koodi_override=None):
        """-> (status, xml text, hetu found?)"""
        f = req.fields
        account = self.auth.check(f.get("Kayttajatunnus", ""), f.get("Salasana", ""))
        if account is None:
            raise SoapError("SOAP-ENV:Client",
                            "Authentication failed: invalid Kayttajatunnus or Salasana")
        hetu = f.get("Henkilotunnus", "")
        if koodi_override is not None:
            return 200, envelope(req, vastaussanoma(koodi_override, hetu, None, False))
        w = self.world
        ms, pe, _key = w.present()
        today = helsinki_date(ms).toordinal()
        r = w.lookup(hetu)
        koodi = "0001"
        henkilo = None
        if r is not None:
            i, new = r
            corr = w.hist.corrections.get(i)
            visible = corr is not None and corr[0] < pe
            if new == visible:
                koodi = "0000"
            elif not new and visible:
                koodi = "0002"      # an old hetu: show the person under the active one
            if koodi != "0001":
                st = w.person_view(i, pe)
                active = w.current_hetu(i, pe)
                censored = account == "mutpT1x" and is_protected(st, today)
                henkilo = henkilo_xml(st, active, censored, today)
        return 200, envelope(req, vastaussanoma(koodi, hetu, henkilo, koodi != "0001"))


# ---- hostile answers (fault kinds of faults.HOSTILE) -----------------------------------------
# Each takes the mock's real answer (bytes, UTF-8) and the fault's params and returns what is
# sent instead. `text` is the distinctive string a test then looks for everywhere.

DEFAULT_MARK = "Piilokatu 7 B 12, 00990 HELSINKI"


def _after_henkilo(data, insert):
    return data.replace(b"<Henkilo>", b"<Henkilo>" + insert, 1)


def hostile_answer(kind, params, data):
    mark = str(params.get("text", DEFAULT_MARK))
    m = escape(mark).encode("utf-8")
    if kind == "soap_turvakielto":
        if params.get("drop"):
            start, end = data.find(b"<Turvakielto>"), data.find(b"</Turvakielto>")
            return data[:start] + data[end + len(b"</Turvakielto>"):] if start >= 0 and end >= 0 else data
        value = escape(str(params.get("value", ""))).encode("utf-8")
        start = data.find(b"<TurvakieltoTieto>")
        end = data.find(b"</TurvakieltoTieto>")
        if start < 0 or end < 0:
            return data
        return data[:start] + b"<TurvakieltoTieto>" + value + data[end:]
    if kind == "soap_comment":
        return _after_henkilo(data, b"<!-- " + mark.replace("--", "- -").encode("utf-8") + b" -->")
    if kind == "soap_unknown_element":
        return _after_henkilo(data, b"<Lisaosoite><Katuosoite>" + m + b"</Katuosoite></Lisaosoite>")
    if kind == "soap_attribute":
        a = quoteattr(mark).encode("utf-8")
        data = data.replace(b"<Henkilo>", b"<Henkilo osoite=" + a + b">", 1)
        return data.replace(b"<Sukunimi>", b"<Sukunimi katu=" + a + b">", 1)
    if kind == "xml_quoting_error":
        name = "".join(ch for ch in mark if ch.isalnum()) or "Salaosoite"
        variant = params.get("variant", "entity")
        if variant == "entity":
            bad = ("<Lisa>&%s;</Lisa>" % name).encode()
        elif variant == "tag":
            bad = ("<%s>x</%sX>" % (name, name)).encode()
        else:  # utf8
            bad = b"<Lisa>" + name.encode() + b"\xff\xfe" + name.encode() + b"</Lisa>"
        return _after_henkilo(data, bad)
    if kind == "xml_deep_nesting":
        depth = int(params.get("depth", 100000))
        return _after_henkilo(data, b"<a>" * depth + b"</a>" * depth)
    if kind == "xml_invalid_utf8":
        return data.replace(b"<Sukunimi>", b"<Sukunimi>\xff\xfe", 1)
    if kind == "xml_external_entity":
        decl_end = data.find(b"?>") + 2
        data = (data[:decl_end] + b'<!DOCTYPE SOAP-ENV:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                + data[decl_end:])
        return data.replace(b"<Sukunimi>", b"<Sukunimi>&xxe;", 1)
    if kind == "xml_xinclude":
        return _after_henkilo(data, b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                                    b'href="file:///etc/passwd" parse="text"/>')
    if kind == "xml_wrong_encoding":
        enc = str(params.get("encoding", "ISO-8859-1")).encode()
        data = data.replace(b'encoding="UTF-8"', b'encoding="' + enc + b'"', 1)
        return data.replace(b"<InfoS>", "<InfoS>Öljy ".encode("utf-8"), 1)
    if kind == "xml_huge_attribute":
        kb = int(params.get("kb", 1024))
        return data.replace(b"<Henkilo>", b'<Henkilo x="' + b"A" * (kb * 1024) + b'">', 1)
    raise AssertionError(kind)
