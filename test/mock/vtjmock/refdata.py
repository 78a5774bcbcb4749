"""Reference data for the synthetic population: real municipality codes,
post offices, street and person names, countries and languages, and the
data-group constants shared by the generator, the censor and the server."""

# --- municipalities ---------------------------------------------------------
# (kuntakoodi, name fi, name sv, population weight (thousands),
#  post office fi, post office sv, postal codes, language profile)
# language profile: "fi" Finnish-only, "fs" bilingual Finnish majority,
# "sf" bilingual Swedish majority.
MUNICIPALITIES = [
    ("091", "Helsinki", "Helsingfors", 675, "HELSINKI", "HELSINGFORS",
     ["00100", "00120", "00130", "00140", "00150", "00160", "00170", "00180",
      "00200", "00210", "00250", "00260", "00270", "00280", "00300", "00320",
      "00330", "00350", "00380", "00400", "00420", "00500", "00510", "00530",
      "00550", "00560", "00580", "00600", "00610", "00620", "00640", "00650",
      "00680", "00700", "00710", "00730", "00760", "00780", "00790", "00800",
      "00810", "00840", "00850", "00870", "00900", "00920", "00930", "00940",
      "00950", "00960", "00970", "00980", "00990"], "fs"),
    ("049", "Espoo", "Esbo", 310, "ESPOO", "ESBO",
     ["02100", "02110", "02130", "02150", "02160", "02170", "02180", "02200",
      "02210", "02230", "02240", "02250", "02270", "02280", "02320", "02330",
      "02340", "02360", "02380", "02600", "02610", "02620", "02630", "02650",
      "02660", "02680", "02710", "02720", "02730", "02740", "02750", "02760",
      "02770", "02780", "02810", "02820", "02940", "02970", "02980"], "fs"),
    ("092", "Vantaa", "Vanda", 245, "VANTAA", "VANDA",
     ["01200", "01230", "01260", "01280", "01300", "01350", "01360", "01370",
      "01380", "01390", "01400", "01420", "01450", "01480", "01490", "01510",
      "01520", "01530", "01600", "01610", "01620", "01630", "01640", "01650",
      "01660", "01670", "01680", "01690", "01700", "01710", "01720", "01730",
      "01740", "01750", "01760"], "fs"),
    ("837", "Tampere", "Tammerfors", 255, "TAMPERE", "TAMMERFORS",
     ["33100", "33180", "33200", "33210", "33230", "33240", "33250", "33270",
      "33300", "33330", "33340", "33400", "33410", "33420", "33470", "33500",
      "33520", "33530", "33540", "33560", "33580", "33610", "33680", "33700",
      "33710", "33720", "33730", "33800", "33820", "33840", "33850", "33870",
      "33900"], "fi"),
    ("853", "Turku", "Åbo", 200, "TURKU", "ÅBO",
     ["20100", "20200", "20210", "20240", "20250", "20300", "20320", "20360",
      "20380", "20400", "20500", "20520", "20540", "20610", "20700", "20720",
      "20730", "20740", "20750", "20760", "20810", "20880", "20900"], "fs"),
    ("564", "Oulu", "Uleåborg", 215, "OULU", "ULEÅBORG",
     ["90100", "90120", "90130", "90140", "90150", "90200", "90230", "90240",
      "90250", "90400", "90420", "90440", "90460", "90500", "90530", "90540",
      "90550", "90560", "90570", "90580", "90600", "90620", "90630", "90650",
      "90660", "90800", "90810", "90820", "90830", "90840", "90900"], "fi"),
    ("398", "Lahti", "Lahtis", 121, "LAHTI", "LAHTIS",
     ["15100", "15110", "15140", "15150", "15160", "15170", "15200", "15210",
      "15230", "15240", "15300", "15320", "15340", "15500", "15550", "15560",
      "15610", "15700", "15800", "15810", "15850", "15870", "15880", "15900"],
     "fi"),
    ("179", "Jyväskylä", "Jyväskylä", 148, "JYVÄSKYLÄ", "JYVÄSKYLÄ",
     ["40100", "40200", "40250", "40270", "40320", "40340", "40400", "40420",
      "40500", "40520", "40530", "40600", "40620", "40630", "40640", "40660",
      "40700", "40740", "40800", "40900", "40950"], "fi"),
    ("297", "Kuopio", "Kuopio", 125, "KUOPIO", "KUOPIO",
     ["70100", "70110", "70150", "70200", "70210", "70260", "70300", "70340",
      "70400", "70420", "70460", "70500", "70600", "70620", "70700", "70780",
      "70800", "70820", "70840", "70870", "70900"], "fi"),
    ("109", "Hämeenlinna", "Tavastehus", 68, "HÄMEENLINNA", "TAVASTEHUS",
     ["13100", "13130", "13200", "13210", "13220", "13270", "13300", "13430",
      "13500", "13600", "13700", "13720", "13800", "13880", "13900"], "fi"),
    ("609", "Pori", "Björneborg", 83, "PORI", "BJÖRNEBORG",
     ["28100", "28120", "28130", "28190", "28200", "28220", "28300", "28370",
      "28400", "28430", "28450", "28500", "28540", "28600", "28660", "28760",
      "28800", "28900"], "fi"),
    ("905", "Vaasa", "Vasa", 68, "VAASA", "VASA",
     ["65100", "65130", "65170", "65200", "65230", "65280", "65300", "65320",
      "65350", "65370", "65380"], "fs"),
    ("405", "Lappeenranta", "Villmanstrand", 73, "LAPPEENRANTA",
     "VILLMANSTRAND",
     ["53100", "53130", "53300", "53400", "53500", "53550", "53600", "53650",
      "53810", "53850", "53900", "53920", "53950"], "fi"),
    ("167", "Joensuu", "Joensuu", 77, "JOENSUU", "JOENSUU",
     ["80100", "80110", "80130", "80140", "80160", "80200", "80220", "80230",
      "80260", "80330", "80400", "80710", "80770", "80850"], "fi"),
    ("285", "Kotka", "Kotka", 51, "KOTKA", "KOTKA",
     ["48100", "48200", "48210", "48220", "48230", "48300", "48310", "48350",
      "48400", "48410", "48600", "48720", "48770", "48800"], "fi"),
    ("286", "Kouvola", "Kouvola", 80, "KOUVOLA", "KOUVOLA",
     ["45100", "45130", "45160", "45200", "45360", "45370", "45410", "45610",
      "45700", "45720", "45740", "45910"], "fi"),
    ("638", "Porvoo", "Borgå", 51, "PORVOO", "BORGÅ",
     ["06100", "06150", "06200", "06400", "06450", "06500", "06650", "06750"],
     "fs"),
    ("491", "Mikkeli", "S:t Michel", 52, "MIKKELI", "S:T MICHEL",
     ["50100", "50120", "50130", "50150", "50160", "50170", "50180", "50190",
      "50500", "50600", "50670", "50700", "50770", "50970"], "fi"),
    ("743", "Seinäjoki", "Seinäjoki", 65, "SEINÄJOKI", "SEINÄJOKI",
     ["60100", "60120", "60150", "60200", "60220", "60320", "60420", "60510",
      "60550", "60800"], "fi"),
    ("698", "Rovaniemi", "Rovaniemi", 65, "ROVANIEMI", "ROVANIEMI",
     ["96100", "96190", "96200", "96300", "96320", "96400", "96440", "96460",
      "96500", "96600", "96700", "96900", "96930"], "fi"),
    ("734", "Salo", "Salo", 51, "SALO", "SALO",
     ["24100", "24130", "24240", "24260", "24280", "24800", "24910", "25410",
      "25500"], "fi"),
    ("272", "Kokkola", "Karleby", 48, "KOKKOLA", "KARLEBY",
     ["67100", "67200", "67300", "67400", "67600", "67700", "67800", "67900"],
     "fs"),
    ("205", "Kajaani", "Kajana", 36, "KAJAANI", "KAJANA",
     ["87100", "87200", "87300", "87400", "87500", "87700", "87800", "87850",
      "87900", "87970"], "fi"),
    ("684", "Rauma", "Raumo", 39, "RAUMA", "RAUMO",
     ["26100", "26200", "26420", "26510", "26660", "26820", "26930"], "fi"),
    ("245", "Kerava", "Kervo", 38, "KERAVA", "KERVO",
     ["04200", "04220", "04230", "04250", "04260"], "fs"),
    ("858", "Tuusula", "Tusby", 40, "TUUSULA", "TUSBY",
     ["04300", "04310", "04320", "04330", "04340", "04360", "04370", "04380",
      "04390"], "fs"),
    ("543", "Nurmijärvi", "Nurmijärvi", 44, "NURMIJÄRVI", "NURMIJÄRVI",
     ["01800", "01860", "01900", "01940", "05100", "05200"], "fi"),
    ("257", "Kirkkonummi", "Kyrkslätt", 41, "KIRKKONUMMI", "KYRKSLÄTT",
     ["02400", "02410", "02420", "02440", "02460", "02470", "02480"], "fs"),
    ("186", "Järvenpää", "Träskända", 45, "JÄRVENPÄÄ", "TRÄSKÄNDA",
     ["04400", "04410", "04420", "04430", "04440", "04460", "04480"], "fs"),
    ("710", "Raasepori", "Raseborg", 27, "TAMMISAARI", "EKENÄS",
     ["10600", "10620", "10640", "10650", "10660"], "sf"),
    ("235", "Kauniainen", "Grankulla", 10, "KAUNIAINEN", "GRANKULLA",
     ["02700"], "fs"),
    ("753", "Sipoo", "Sibbo", 22, "SIPOO", "SIBBO",
     ["04130", "04150", "04170"], "fs"),
    ("499", "Mustasaari", "Korsholm", 19, "MUSTASAARI", "KORSHOLM",
     ["65610", "65630", "65650", "65710", "65800"], "sf"),
    ("598", "Pietarsaari", "Jakobstad", 19, "PIETARSAARI", "JAKOBSTAD",
     ["68600", "68620", "68660"], "sf"),
    ("444", "Lohja", "Lojo", 46, "LOHJA", "LOJO",
     ["08100", "08150", "08200", "08350", "08450", "08500", "08700"], "fs"),
    ("202", "Kaarina", "S:t Karins", 36, "KAARINA", "S:T KARINS",
     ["20760", "20780", "21620"], "fs"),
    ("211", "Kangasala", "Kangasala", 33, "KANGASALA", "KANGASALA",
     ["36200", "36220", "36240", "36280"], "fi"),
    ("980", "Ylöjärvi", "Ylöjärvi", 33, "YLÖJÄRVI", "YLÖJÄRVI",
     ["33470", "33480"], "fi"),
    ("536", "Nokia", "Nokia", 35, "NOKIA", "NOKIA",
     ["37100", "37120", "37130", "37150"], "fi"),
    ("106", "Hyvinkää", "Hyvinge", 47, "HYVINKÄÄ", "HYVINGE",
     ["05800", "05820", "05830", "05840", "05880"], "fi"),
]
MUNI_BY_CODE = {m[0]: m for m in MUNICIPALITIES}

# --- streets ------------------------------------------------------------------
# (fi, sv) pairs; used with both names in bilingual municipalities.
STREETS_BILINGUAL = [
    ("Mannerheimintie", "Mannerheimvägen"), ("Aleksanterinkatu", "Alexandersgatan"),
    ("Hämeentie", "Tavastvägen"), ("Kauppakatu", "Handelsgatan"),
    ("Koulukatu", "Skolgatan"), ("Rantatie", "Strandvägen"),
    ("Kirkkokatu", "Kyrkogatan"), ("Asemakatu", "Stationsgatan"),
    ("Puistokatu", "Parkgatan"), ("Myllytie", "Kvarnvägen"),
    ("Koivukuja", "Björkgränden"), ("Mäntytie", "Tallvägen"),
    ("Kuusitie", "Granvägen"), ("Pihlajatie", "Rönnvägen"),
    ("Vaahterakuja", "Lönngränden"), ("Satamakatu", "Hamngatan"),
    ("Linnankatu", "Slottsgatan"), ("Torikatu", "Torggatan"),
    ("Sairaalakatu", "Sjukhusgatan"), ("Urheilutie", "Idrottsvägen"),
    ("Metsätie", "Skogsvägen"), ("Peltotie", "Åkervägen"),
    ("Niittykuja", "Ängsgränden"), ("Järvitie", "Sjövägen"),
    ("Mäkitie", "Backvägen"), ("Lähdetie", "Källvägen"),
    ("Kalliotie", "Bergsvägen"), ("Tehtaankatu", "Fabriksgatan"),
    ("Lauttasaarentie", "Drumsövägen"), ("Itäväylä", "Österleden"),
    ("Öljymäki", "Oljebacka"), ("Sörnäisten rantatie", "Sörnäs strandväg"),
    ("Kaivokatu", "Brunnsgatan"), ("Pohjoisesplanadi", "Norra esplanaden"),
    ("Läntinen Pitkäkatu", "Västra Långgatan"), ("Tähtitorninkatu", "Observatoriegatan"),
    ("Ylänkötie", "Höglandsvägen"), ("Kylänvanhimmantie", "Byäldstevägen"),
    ("Hiidenkiukaantie", "Hiisiugnsvägen"), ("Ääkkösenkuja", "Ääkkösgränden"),
]
STREETS_FI = [
    "Kyläkatu", "Hiekkaharjuntie", "Vanha Porintie", "Kuninkaankatu",
    "Hallituskatu", "Kaupinkatu", "Sammonkatu", "Insinöörinkatu",
    "Yliopistonkatu", "Väinönkatu", "Kauppalankatu", "Pirkankatu",
    "Satakunnankatu", "Hämeenpuisto", "Kalevantie", "Tampereentie",
    "Kuopionlahdentie", "Savilahdentie", "Vapaudenkatu", "Tellervonkatu",
    "Kärkikuja", "Sääksjärventie", "Pyynikintie", "Lönnrotinkatu",
    "Rautatienkatu", "Isokatu", "Kirkkopuistikko", "Välitalontie",
    "Jämsänkatu", "Ylä-Malmin tori", "Ähtärintie", "Öhrnbergintie",
]
STREETS_SV = [  # Swedish-majority municipalities
    ("Storgatan", "Isokatu"), ("Kyrkogatan", "Kirkkokatu"),
    ("Strandvägen", "Rantatie"), ("Skolgatan", "Koulukatu"),
    ("Norra vallgatan", "Pohjoinen vallikatu"), ("Ekbacken", "Tammimäki"),
    ("Bäckvägen", "Purotie"), ("Österleden", "Itäväylä"),
    ("Åsvägen", "Harjutie"), ("Källbacken", "Lähdemäki"),
]

# --- person names -----------------------------------------------------------
FIRST_MALE = [
    "Juhani", "Mikael", "Matti", "Antero", "Johannes", "Tapani", "Olavi",
    "Kalevi", "Ilmari", "Väinö", "Eino", "Onni", "Leo", "Elias", "Oliver",
    "Veeti", "Eetu", "Aleksi", "Mika", "Jari", "Timo", "Pekka", "Heikki",
    "Jukka", "Markku", "Kari", "Pentti", "Seppo", "Tuomas", "Lauri", "Ville",
    "Niko", "Joonas", "Sebastian", "Erik", "Björn", "Göran", "Håkan", "Åke",
    "Jörgen", "Henrik", "Kristian", "Toivo", "Armas", "Väinämö", "Yrjö",
]
FIRST_FEMALE = [
    "Maria", "Helena", "Johanna", "Anneli", "Kaarina", "Marjatta", "Hannele",
    "Sofia", "Aino", "Eevi", "Olivia", "Ella", "Emma", "Venla", "Aada", "Iida",
    "Siiri", "Päivi", "Tiina", "Sari", "Minna", "Merja", "Tuula", "Riitta",
    "Leena", "Sirpa", "Anna", "Liisa", "Elina", "Satu", "Tarja", "Pirjo",
    "Ritva", "Kyllikki", "Tellervo", "Hillevi", "Åsa", "Märta", "Ebba",
    "Linnéa", "Ylva", "Sanna-Mari", "Mirjami", "Lyydia", "Ilona", "Hilkka",
]
SURNAMES = [
    "Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen",
    "Laine", "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Lehtinen",
    "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen",
    "Salonen", "Turunen", "Salo", "Laitinen", "Tuominen", "Rantanen",
    "Karjalainen", "Jokinen", "Mattila", "Savolainen", "Lahtinen", "Ahonen",
    "Pöllänen", "Jääskeläinen", "Kärkkäinen", "Väisänen", "Räsänen",
    "Hyvönen", "Björklund", "Lindström", "Sjöberg", "Åberg", "Öhman",
    "Grönroos", "Nyström", "Wikström", "Ström", "Holmström", "Ylä-Mononen",
    "Kallio-Könönen", "von Bonsdorff", "Pääkkönen", "Äijälä", "Örn",
]
# Immigrant names; some need characters outside ISO-8859-1, so they get the
# *UTF8 twin fields with the exact spelling and a transliterated plain field.
FOREIGN_FIRST_MALE = ["Ahmed", "Mohamed", "Ali", "Dmitri", "Andrei", "Tomáš",
                      "Jiří", "Minh", "Carlos", "Łukasz", "Mehmet"]
FOREIGN_FIRST_FEMALE = ["Fatima", "Amina", "Olga", "Svetlana", "Anh",
                        "Lucía", "Zuzana", "Ewa", "Ayşe", "Małgorzata"]
FOREIGN_SURNAMES = ["Hassan", "Abdi", "Ivanov", "Smirnov", "Nguyễn", "Tran",
                    "Dvořák", "Novák", "García", "Łukaszewicz", "Yılmaz",
                    "Müller", "Şahin", "Kovačević"]

# --- countries (ISO 3166 numeric as VTJ valtiokoodi strings) ------------------
# (code, name fi, name sv, cities)
COUNTRIES = [
    ("752", "Ruotsi", "Sverige", ["Stockholm", "Göteborg", "Malmö", "Uppsala"]),
    ("233", "Viro", "Estland", ["Tallinn", "Tartu", "Pärnu"]),
    ("578", "Norja", "Norge", ["Oslo", "Bergen", "Tromsø"]),
    ("276", "Saksa", "Tyskland", ["Berlin", "München", "Hamburg"]),
    ("724", "Espanja", "Spanien", ["Málaga", "Fuengirola", "Torrevieja"]),
    ("826", "Yhdistynyt kuningaskunta", "Förenade kungariket",
     ["London", "Manchester", "Edinburgh"]),
    ("840", "Yhdysvallat", "Förenta staterna", ["New York", "Seattle", "Lake Worth"]),
    ("208", "Tanska", "Danmark", ["København", "Aarhus"]),
    ("756", "Sveitsi", "Schweiz", ["Zürich", "Genève"]),
    ("036", "Australia", "Australien", ["Sydney", "Melbourne"]),
]
COUNTRY_BY_CODE = {c[0]: c for c in COUNTRIES}
FOREIGN_STREETS = ["Drottninggatan", "Narva mnt", "Karl Johans gate",
                   "Hauptstraße", "Calle Mayor", "High Street", "Main Street",
                   "Strøget", "Bahnhofstrasse", "George Street"]

# citizenship codes for immigrants (ISO numeric)
CITIZENSHIPS = ["233", "643", "706", "368", "004", "704", "156", "356", "792",
                "826", "276", "804", "608", "764", "752"]

# --- languages: (ISO 639-1, ISO 639-2, fi name, sv name) -----------------------
LANGUAGES = {
    "fi": ("fin", "suomi", "finska"), "sv": ("swe", "ruotsi", "svenska"),
    "ru": ("rus", "venäjä", "ryska"), "et": ("est", "viro", "estniska"),
    "ar": ("ara", "arabia", "arabiska"), "so": ("som", "somali", "somaliska"),
    "en": ("eng", "englanti", "engelska"), "vi": ("vie", "vietnam", "vietnamesiska"),
    "zh": ("zho", "kiina", "kinesiska"), "fa": ("fas", "persia", "persiska"),
    "uk": ("ukr", "ukraina", "ukrainska"), "tr": ("tur", "turkki", "turkiska"),
    "se": ("sme", "saame", "samiska"),
}

# --- data groups ----------------------------------------------------------------
# Serving order of /perustiedot (unknown types follow, by name).
GROUP_ORDER = [
    "HENKILOTUNNUS_KORJAUS", "HENKILON_NIMI", "NIMENMUUTOS", "SUKUPUOLI",
    "SYNTYMAPAIVA", "SIVIILISAATY", "KANSALAISUUS", "AIDINKIELI",
    "ASIOINTIKIELI", "KUOLINPAIVA", "TURVAKIELTO", "VAKINAINEN_KOTIMAINEN_OSOITE",
    "TILAPAINEN_KOTIMAINEN_OSOITE", "KOTIMAINEN_POSTIOSOITE",
    "VAKINAINEN_ULKOMAINEN_OSOITE", "TILAPAINEN_ULKOMAINEN_OSOITE",
    "ULKOMAINEN_POSTIOSOITE", "KOTIKUNTA", "KOTIMAINEN_YHTEYSOSOITE",
    "ULKOMAINEN_YHTEYSOSOITE", "HUOLTAJA", "EDUNVALVONTA",
    "EDUNVALVONTAVALTUUTUS",
]
GROUP_RANK = {g: n for n, g in enumerate(GROUP_ORDER)}

# change-semantics.md: multi-valued group types; every other type is single.
MULTI_VALUED = frozenset([
    "HUOLTAJA", "HUOLLETTAVA", "HUOLTAJA_SUPPEA", "HUOLLETTAVA_SUPPEA",
    "HUOLTAJA_RAJOITETTU", "HUOLLETTAVA_RAJOITETTU", "LAPSI", "VANHEMPI",
    "LAPSI_SUPPEA", "VANHEMPI_SUPPEA", "PERHESUHDE", "NIMENMUUTOS",
    "NIMENMUUTOS_LAAJA", "TILAPAINEN_KOTIMAINEN_OSOITE",
    "TILAPAINEN_ULKOMAINEN_OSOITE", "SAHKOPOSTIOSOITE", "AVIOLIITTO",
    "REKISTEROITY_PARISUHDE", "EDELLINEN_KOTIKUNTA", "EDUNVALVONTA",
    "EDUNVALVONTAVALTUUTUS",
])

# docs/interface.md#turvakielto-representation-and-client-behaviour: groups withheld for a protected person under a
# production-like product (mutpT1x), with the withheld field names.
# The YHTEYSOSOITE groups are deliberately absent: they are the contact
# address that exists for exactly this case.
CENSORED_FIELDS = {
    "VAKINAINEN_KOTIMAINEN_OSOITE": ["katunimi", "katunumero", "huoneistokirjain",
                                     "huoneistonumero", "jakokirjain", "postinumero",
                                     "postitoimipaikka", "rakennustunnus",
                                     "osoitenumero", "kuntakoodi"],
    "TILAPAINEN_KOTIMAINEN_OSOITE": ["katunimi", "katunumero", "huoneistokirjain",
                                     "huoneistonumero", "jakokirjain", "postinumero",
                                     "postitoimipaikka", "rakennustunnus",
                                     "osoitenumero", "kuntakoodi"],
    "KOTIMAINEN_POSTIOSOITE": ["postiosoite", "postinumero", "postitoimipaikka"],
    "VAKINAINEN_ULKOMAINEN_OSOITE": ["lahiosoite", "paikkakunta", "valtiokoodi",
                                     "valtionimi"],
    "TILAPAINEN_ULKOMAINEN_OSOITE": ["lahiosoite", "paikkakunta", "valtiokoodi",
                                     "valtionimi"],
    "ULKOMAINEN_POSTIOSOITE": ["postiosoite", "postiosoiteLisarivi",
                               "postitoimipaikka", "valtiokoodi", "valtionimi"],
    "KOTIKUNTA": ["kuntakoodi", "kuntaanMuuttopv", "kuntaanMuuttoPv"],
    "TILAPAINEN_KUNTA": ["kuntakoodi", "kuntaanMuuttopv", "kunnastaPoisMuuttopv"],
    "VUODENVAIHTEEN_KUNTA": ["kuntakoodi", "vuodenvaihde"],
    "VAKINAINEN_KOTIMAINEN_ASUINPAIKKATUNNUS": ["rakennustunnus", "osoitenumero",
                                                "huoneistokirjain", "huoneistonumero",
                                                "jakokirjain", "kuntakoodi",
                                                "asuinpaikantunnus"],
    "TILAPAINEN_KOTIMAINEN_ASUINPAIKKATUNNUS": ["rakennustunnus", "osoitenumero",
                                                "huoneistokirjain", "huoneistonumero",
                                                "jakokirjain", "kuntakoodi",
                                                "asuinpaikantunnus"],
    "VAKINAINEN_OLINPAIKASSA_ASUMINEN": ["kuntakoodi", "lajikoodi", "numero",
                                         "laitos", "asuinpaikantunnus"],
    "TILAPAINEN_OLINPAIKASSA_ASUMINEN": ["kuntakoodi", "lajikoodi", "numero",
                                         "laitos", "asuinpaikantunnus"],
    "VAKINAINEN_ULKOMAILLA_ASUMINEN": ["valtiokoodi", "asuinpaikantunnus"],
    "TILAPAINEN_ULKOMAILLA_ASUMINEN": ["valtiokoodi", "asuinpaikantunnus"],
    "SAHKOPOSTIOSOITE": ["sahkopostiosoite", "lajikoodi"],
}
CENSORED_GROUPS = list(CENSORED_FIELDS)
CENSORED_SET = frozenset(CENSORED_GROUPS)

# groups whose location data a turvakielto hides and which the history
# actually produces (a subset of CENSORED_GROUPS)
LOCATION_GROUPS = ["VAKINAINEN_KOTIMAINEN_OSOITE", "TILAPAINEN_KOTIMAINEN_OSOITE",
                   "KOTIMAINEN_POSTIOSOITE", "VAKINAINEN_ULKOMAINEN_OSOITE",
                   "TILAPAINEN_ULKOMAINEN_OSOITE", "ULKOMAINEN_POSTIOSOITE",
                   "KOTIKUNTA"]

PUBLIC_GUARDIAN_OFFICES = [
    (101, "Helsingin oikeusaputoimisto", "Helsingfors rättshjälpsbyrå"),
    (102, "Länsi-Uudenmaan oikeusaputoimisto", "Västra Nylands rättshjälpsbyrå"),
    (103, "Pirkanmaan oikeusaputoimisto", "Birkalands rättshjälpsbyrå"),
    (104, "Varsinais-Suomen oikeusaputoimisto", "Egentliga Finlands rättshjälpsbyrå"),
    (105, "Pohjois-Pohjanmaan oikeusaputoimisto", "Norra Österbottens rättshjälpsbyrå"),
]
