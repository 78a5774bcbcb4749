-- vtj_fdw code, part 20 (the mirror), 13: reports.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- ---------------------------------------------------------------------------------------
-- Reports
-- ---------------------------------------------------------------------------------------
-- The run log as it is: a run whose backend is gone (killed, crashed) shows as 'keskeytynyt',
-- ended when it was last seen alive, whoever reads it (the next run of the register also marks
-- its row so).
CREATE OR REPLACE VIEW vtj.ajo AS
SELECT a.ajo, a.rekisteri, a.laji, a.alku,
       CASE WHEN k.kuollut THEN coalesce(a.elossa, a.alku) ELSE a.loppu END AS loppu,
       CASE WHEN k.kuollut THEN 'keskeytynyt' ELSE a.tila END AS tila,
       a.pyyntoja, a.muutoksia, a.henkiloita, a.ladattuja, a.kirjausavain_alku, a.kirjausavain_loppu,
       a.sqlstate, a.virhe, a.sensuroituja, a.jasenia, a.positio, a.pid, a.elossa, a.poistettu_lokista
  FROM vtj_internal.ajo a
  CROSS JOIN LATERAL (SELECT a.tila = 'kaynnissa' AND NOT vtj_internal.backend_alive(a.pid, a.taustaprosessi_alku, a.alku) AS kuollut) k;
COMMENT ON VIEW vtj.ajo IS
    'One row per run of vtj.paivita or vtj.lataa_perustiedot: ok, virhe (sqlstate, virhe), kaynnissa, or keskeytynyt (its backend died; loppu = when last seen alive)';
CREATE OR REPLACE VIEW vtj.kotikunnittain AS
SELECT h.rekisteri, h.kotikunta, count(*) AS henkiloita
  FROM vtj.henkilo h
 WHERE NOT h.kuollut
 GROUP BY h.rekisteri, h.kotikunta;
COMMENT ON VIEW vtj.kotikunnittain IS
    'Living members by municipality of residence (kotikunta NULL: unknown or censored)';
CREATE OR REPLACE VIEW vtj.laskutusosoite AS
SELECT h.rekisteri, h.hetu, h.etunimet, h.sukunimi, h.kuollut, h.turvakielto,
       o.laji, o.katuosoite, o.lisarivi, o.postinumero, o.postitoimipaikka, o.valtiokoodi, o.maa
  FROM vtj.henkilo h
  LEFT JOIN LATERAL (
        SELECT a.* FROM vtj.osoite a
         WHERE a.rekisteri = h.rekisteri AND a.hetu = h.hetu
           AND CASE WHEN h.turvakielto THEN a.laji IN ('KOTIMAINEN_YHTEYSOSOITE', 'ULKOMAINEN_YHTEYSOSOITE')
                    ELSE a.laji IN ('KOTIMAINEN_POSTIOSOITE', 'ULKOMAINEN_POSTIOSOITE',
                                    'VAKINAINEN_KOTIMAINEN_OSOITE', 'VAKINAINEN_ULKOMAINEN_OSOITE') END
         ORDER BY CASE a.laji WHEN 'KOTIMAINEN_YHTEYSOSOITE' THEN 1 WHEN 'ULKOMAINEN_YHTEYSOSOITE' THEN 2
                              WHEN 'KOTIMAINEN_POSTIOSOITE' THEN 3 WHEN 'ULKOMAINEN_POSTIOSOITE' THEN 4
                              WHEN 'VAKINAINEN_KOTIMAINEN_OSOITE' THEN 5 ELSE 6 END, a.nro DESC
         LIMIT 1) o ON true;
COMMENT ON VIEW vtj.laskutusosoite IS
    'A billing address per member: the contact address under turvakielto, else the postal address, else the permanent address; kuollut flags the deceased';
