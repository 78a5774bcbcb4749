"""VTJkysely SOAP: found, not found, passivated, censoring, faults, auth."""
import re
import unittest
import xml.etree.ElementTree as ET

from tests.mockproc import Mock, PASSWORD

NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/",
      "k": "http://xml.vrk.fi/ws/vtj/vtjkysely/1",
      "v": "http://xml.vrk.fi/schema/vtjkysely",
      "xrd": "http://x-road.eu/xsd/xroad.xsd",
      "id": "http://x-road.eu/xsd/identifiers"}

REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">
 <SOAP-ENV:Header>
  <xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>FI-TEST</id:xRoadInstance>
   <id:memberClass>MUN</id:memberClass><id:memberCode>0132947-3</id:memberCode>
   <id:subsystemCode>hameenkyroevaka</id:subsystemCode></xrd:client>
  <xrd:service id:objectType="SERVICE"><id:xRoadInstance>FI-TEST</id:xRoadInstance>
   <id:memberClass>GOV</id:memberClass><id:memberCode>0245437-2</id:memberCode>
   <id:subsystemCode>VTJkysely</id:subsystemCode><id:serviceCode>HenkilonTunnusKysely</id:serviceCode>
   <id:serviceVersion>v1</id:serviceVersion></xrd:service>
  <xrd:id>trace-42</xrd:id><xrd:issue/><xrd:userId>8c2b4f1e-user</xrd:userId>
  <xrd:protocolVersion>4.0</xrd:protocolVersion>
 </SOAP-ENV:Header>
 <SOAP-ENV:Body>
  <ns1:HenkilonTunnusKysely xmlns:ns1="http://xml.vrk.fi/ws/vtj/vtjkysely/1"><ns1:request>
   <ns1:SoSoNimi>Perussanoma 3</ns1:SoSoNimi><ns1:Kayttajatunnus>%s</ns1:Kayttajatunnus>
   <ns1:Salasana>%s</ns1:Salasana><ns1:Loppukayttaja>voltti-id: 1234</ns1:Loppukayttaja>
   <ns1:Henkilotunnus>%s</ns1:Henkilotunnus></ns1:request></ns1:HenkilonTunnusKysely>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""

ELEMENTS = {
    "VakinainenKotimainenLahiosoite": ["LahiosoiteS", "LahiosoiteR", "Postinumero", "PostitoimipaikkaS",
                                       "PostitoimipaikkaR", "AsuminenAlkupvm", "AsuminenLoppupvm"],
    "KotimainenPostiosoite": ["PostiosoiteS", "PostiosoiteR", "Postinumero", "PostitoimipaikkaS",
                              "PostitoimipaikkaR", "PostiosoiteAlkupvm", "PostiosoiteLoppupvm"],
    "Kotikunta": ["Kuntanumero", "KuntaS", "KuntaR", "KuntasuhdeAlkupvm"],
    "Kuolintiedot": ["Kuollut", "Kuolinpvm"],
    "Aidinkieli": ["Kielikoodi", "KieliS", "KieliR"],
    "Turvakielto": ["TurvakieltoTieto", "TurvakieltoPaattymispvm"],
    "Sukupuoli": ["Sukupuolikoodi", "SukupuoliS", "SukupuoliR"],
}
LOCATION = ("VakinainenKotimainenLahiosoite", "VakinainenUlkomainenLahiosoite",
            "TilapainenKotimainenLahiosoite", "KotimainenPostiosoite", "Kotikunta")


class SoapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mock("--start-days", "400", "--turvakielto-share", "0.05", persons=2000, seed=41)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def tearDown(self):
        self.m.control("DELETE", "fault")

    def kysely(self, hetu, user="mutpT1", password=PASSWORD, path="/vtjkysely"):
        body = (REQUEST % (user, password, hetu)).encode()
        return self.m.request("POST", path, body, auth=None,
                              headers={"Content-Type": "text/xml; charset=utf-8",
                                       "SOAPAction": '""'})

    def parse(self, data):
        root = ET.fromstring(data)
        resp = root.find("s:Body/k:HenkilonTunnusKyselyResponse", NS)
        self.assertIsNotNone(resp)
        return root, resp

    def test_found(self):
        h = self.m.hetut(limit=5)[2]
        s, hd, data = self.kysely(h)
        self.assertEqual(s, 200)
        self.assertTrue(hd["content-type"].startswith("text/xml"))
        root, resp = self.parse(data)
        # X-Road headers echoed (+ requestHash)
        header = root.find("s:Header", NS)
        self.assertEqual(header.find("xrd:id", NS).text, "trace-42")
        self.assertEqual(header.find("xrd:userId", NS).text, "8c2b4f1e-user")
        self.assertEqual(header.find("xrd:protocolVersion", NS).text, "4.0")
        self.assertEqual(header.find("xrd:client/id:subsystemCode", NS).text, "hameenkyroevaka")
        self.assertEqual(header.find("xrd:service/id:serviceCode", NS).text, "HenkilonTunnusKysely")
        self.assertIsNotNone(header.find("xrd:requestHash", NS))
        # request echoed, password blanked
        req = resp.find("k:request", NS)
        self.assertEqual(req.find("k:Henkilotunnus", NS).text, h)
        self.assertIn(req.find("k:Salasana", NS).text, (None, ""))
        self.assertEqual(req.find("k:Loppukayttaja", NS).text, "voltti-id: 1234")
        vs = resp.find("k:response/v:VTJHenkiloVastaussanoma", NS)
        self.assertEqual(vs.get("sanomatunnus"), "PERUSSANOMA 3")
        self.assertRegex(vs.get("tietojenPoimintaaika"), r"^\d{14}$")
        self.assertEqual(vs.find("v:Paluukoodi", NS).get("koodi"), "0000")
        hk = vs.find("v:Henkilo", NS)
        self.assertEqual(hk.find("v:Henkilotunnus", NS).text, h)
        self.assertEqual(hk.find("v:Henkilotunnus", NS).get("voimassaolokoodi"), "1")
        # compare with the REST truth
        truth = {g["tietoryhma"]: g for g in self.m.perustiedot([h])[0]["tietoryhmat"]}
        self.assertEqual(hk.find("v:NykyinenSukunimi/v:Sukunimi", NS).text,
                         truth["HENKILON_NIMI"].get("sukunimiUTF8", truth["HENKILON_NIMI"]["sukunimi"]))
        for parent, kids in ELEMENTS.items():
            p = hk.find("v:" + parent, NS)
            self.assertIsNotNone(p, parent)
            for k in kids:
                self.assertIsNotNone(p.find("v:" + k, NS), "%s/%s present (maybe empty)" % (parent, k))
        for el in hk.iter():
            if el.tag.endswith("pvm") and el.text:
                self.assertRegex(el.text, r"^\d{8}$")
        if "KOTIKUNTA" in truth:
            self.assertEqual(hk.find("v:Kotikunta/v:Kuntanumero", NS).text, truth["KOTIKUNTA"]["kuntakoodi"])
            self.assertEqual(hk.find("v:Kotikunta/v:KuntasuhdeAlkupvm", NS).text,
                             truth["KOTIKUNTA"]["kuntaanMuuttopv"]["arvo"].replace("-", ""))
        self.assertIn(hk.find("v:Turvakielto/v:TurvakieltoTieto", NS).text, ("0", "1"))
        self.assertIn(hk.find("v:Sukupuoli/v:Sukupuolikoodi", NS).text, ("1", "2"))
        log = [e for e in self.m.requests_log() if e["endpoint"] == "kysely"][-1]
        self.assertEqual((log["hetus"], log["status"], log["account"]), (1, 200, "mutpT1"))

    def test_deceased_flag(self):
        h = self.m.hetut("deceased", limit=1)[0]
        _s, _h, data = self.kysely(h)
        _root, resp = self.parse(data)
        kt = resp.find(".//v:Henkilo/v:Kuolintiedot", NS)
        self.assertEqual(kt.find("v:Kuollut", NS).text, "1")
        self.assertRegex(kt.find("v:Kuolinpvm", NS).text or "", r"^\d{8}$")

    def test_not_found(self):
        for h in ("010101-0000", "nonsense"):
            s, _h, data = self.kysely(h)
            self.assertEqual(s, 200)
            _root, resp = self.parse(data)
            vs = resp.find("k:response/v:VTJHenkiloVastaussanoma", NS)
            self.assertEqual(vs.find("v:Paluukoodi", NS).get("koodi"), "0001")
            self.assertIsNone(vs.find("v:Henkilo", NS))

    def test_passivated(self):
        old = self.m.hetut("passivated", limit=1)
        new = self.m.hetut("corrected", limit=1)
        self.assertTrue(old)
        s, _h, data = self.kysely(old[0])
        _root, resp = self.parse(data)
        vs = resp.find("k:response/v:VTJHenkiloVastaussanoma", NS)
        self.assertEqual(vs.find("v:Paluukoodi", NS).get("koodi"), "0002")
        self.assertEqual(vs.find("v:Henkilo/v:Henkilotunnus", NS).text, new[0])
        s, _h, data = self.kysely(new[0])
        _root, resp = self.parse(data)
        self.assertEqual(resp.find(".//v:Paluukoodi", NS).get("koodi"), "0000")

    def test_turvakielto_censoring(self):
        h = self.m.hetut("turvakielto", limit=1)[0]
        for user, empty in (("mutpT1x", True), ("mutpT1", False)):
            _s, _h, data = self.kysely(h, user=user)
            _root, resp = self.parse(data)
            hk = resp.find(".//v:Henkilo", NS)
            self.assertEqual(hk.find("v:Turvakielto/v:TurvakieltoTieto", NS).text, "1")
            texts = []
            for parent in LOCATION:
                p = hk.find("v:" + parent, NS)
                self.assertIsNotNone(p, parent)
                self.assertTrue(len(p) > 0)
                texts += [c.text for c in p if c.text]
            if empty:
                self.assertEqual(texts, [], user)
            else:
                self.assertTrue(texts, user)
            self.assertTrue(hk.find("v:NykyinenSukunimi/v:Sukunimi", NS).text)

    def test_auth_failure(self):
        h = self.m.hetut(limit=1)[0]
        for user, pw in (("mutpT1", "wrong"), ("nobody", PASSWORD), ("", "")):
            s, hd, data = self.kysely(h, user=user, password=pw)
            self.assertEqual(s, 500)
            root = ET.fromstring(data)
            f = root.find("s:Body/s:Fault", NS)
            self.assertIn("Client", f.find("faultcode").text)
            self.assertIn("uthentication", f.find("faultstring").text)

    def test_malformed_request(self):
        s, hd, data = self.m.request("POST", "/vtjkysely", b"<not-xml", auth=None)
        self.assertEqual(s, 500)
        self.assertIsNotNone(ET.fromstring(data).find("s:Body/s:Fault", NS))

    def test_soap_fault(self):
        self.m.control("POST", "fault", {"kind": "soap_fault"})
        s, _h, data = self.kysely(self.m.hetut(limit=1)[0])
        self.assertEqual(s, 500)
        f = ET.fromstring(data).find("s:Body/s:Fault", NS)
        self.assertIn("Server", f.find("faultcode").text)

    def test_malformed_xml(self):
        self.m.control("POST", "fault", {"kind": "malformed_xml"})
        s, _h, data = self.kysely(self.m.hetut(limit=1)[0])
        self.assertEqual(s, 200)
        with self.assertRaises(ET.ParseError):
            ET.fromstring(data)

    def test_entity_attack(self):
        self.m.control("POST", "fault", {"kind": "xml_entity_attack"})
        s, _h, data = self.kysely(self.m.hetut(limit=1)[0])
        self.assertEqual(s, 200)
        self.assertLess(len(data), 10000)
        self.assertIn(b"<!DOCTYPE", data)
        self.assertEqual(len(re.findall(rb"<!ENTITY", data)), 10)
        self.assertIn(b"&lol9;", data)

    def test_soap_paluukoodi_and_http_fault(self):
        self.m.control("POST", "fault", {"kind": "soap_paluukoodi", "koodi": "0006"})
        s, _h, data = self.kysely(self.m.hetut(limit=1)[0])
        _root, resp = self.parse(data)
        self.assertEqual(resp.find(".//v:Paluukoodi", NS).get("koodi"), "0006")
        self.assertIsNone(resp.find(".//v:Henkilo", NS))
        # SOAP-only kinds do not touch REST requests
        self.m.control("POST", "fault", {"kind": "soap_fault"})
        s, _ = self.m.json("GET", "/api/v1/kirjausavain/2026-01-01")
        self.assertEqual(s, 200)
        self.m.control("DELETE", "fault")
        self.m.control("POST", "fault", {"kind": "http_503", "endpoint": "kysely"})
        s, _h, _d = self.kysely(self.m.hetut(limit=1)[0])
        self.assertEqual(s, 503)

    def test_xroad_path(self):
        h = self.m.hetut(limit=1)[0]
        s, _h, data = self.kysely(h, path="/r1/FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1")
        self.assertEqual(s, 200)
        _root, resp = self.parse(data)
        self.assertEqual(resp.find(".//v:Paluukoodi", NS).get("koodi"), "0000")


if __name__ == "__main__":
    unittest.main()
