CREATE EXTENSION vtj_fdw;
\pset null '(null)'
-- vtj.hetu_kelpaa: format, real calendar date, century markers, check character (docs/interface.md#hetu-format-and-checksum).
-- Strict: no trimming, no lowercase.
SELECT kuvaus, hetu, vtj.hetu_kelpaa(hetu) AS kelpaa
FROM (VALUES
    (1, 'documented example', '131052-308T'),
    (2, 'valid, marker +', '010185+903H'),
    (3, 'valid, marker -', '131052-9085'),
    (4, 'valid, marker Y', '010594Y9032'),
    (5, 'valid, marker X', '150375X903K'),
    (6, 'valid, marker W', '291296W9039'),
    (7, 'valid, marker V', '311299V903B'),
    (8, 'valid, marker U', '010100U903K'),
    (9, 'valid, marker A', '290200A903E'),
    (10, 'valid, marker B', '010516B903X'),
    (11, 'valid, marker C', '020503C9037'),
    (12, 'valid, marker D', '310120D9033'),
    (13, 'valid, marker E', '150624E903U'),
    (14, 'valid, marker F', '010101F903U'),
    (15, 'wrong check character 0', '131052-3080'),
    (16, 'wrong check character A', '131052-308A'),
    (17, 'wrong check character H', '131052-308H'),
    (18, 'wrong check character U', '131052-308U'),
    (19, 'wrong check character Y', '131052-308Y'),
    (20, '30 February', '300296-900S'),
    (21, '29 February 1900 (not a leap year)', '290200-900B'),
    (22, '29 February 1800 (not a leap year)', '290200+900B'),
    (23, '31 April', '310490-900F'),
    (24, 'day 00', '000190-9002'),
    (25, 'month 13', '011390-900C'),
    (26, 'too short', '131052-308'),
    (27, 'too long', '131052-308TT'),
    (28, 'lowercase check character', '131052-308t'),
    (29, 'lowercase marker', '010516b903X'),
    (30, 'leading space', ' 131052-308T'),
    (31, 'trailing space', '131052-308T '),
    (32, 'empty', ''),
    (33, 'unknown marker G', '131052G308T'),
    (34, 'letters in the individual number', '131052-3O8T'),
    (35, 'Z is never a check character', '131052-308Z'),
    (36, 'marker and a valid checksum but day 32', '320190A900P')
) AS t(n, kuvaus, hetu)
ORDER BY n;
-- NULL in, NULL out (the function is STRICT).
SELECT vtj.hetu_kelpaa(NULL) AS kelpaa;

-- The documented example with every other check character is false.
SELECT count(*) FILTER (WHERE vtj.hetu_kelpaa('131052-308' || c)) AS kelpaavia,
       count(*) AS kokeiltu
FROM regexp_split_to_table('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', '') AS c;
SELECT string_agg(c, '') AS ainoa_oikea
FROM regexp_split_to_table('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', '') AS c
WHERE vtj.hetu_kelpaa('131052-308' || c);

DROP EXTENSION vtj_fdw;
