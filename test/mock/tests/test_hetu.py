import datetime
import unittest

from tests import mockproc  # noqa: F401  (sets sys.path)
from vtjmock import hetu


class HetuTest(unittest.TestCase):
    def test_known_valid(self):
        # examples in docs/interface.md#hetu-format-and-checksum (incl. DVV's new-marker examples) and fixtures
        for h in ("010594Y9032", "010516B903X", "020503F9037", "010579-9999",
                  "020180-999Y", "040180-9998", "010188-916P", "020501A999T"):
            self.assertTrue(hetu.is_valid(h), h)

    def test_marker_not_in_checksum(self):
        # same date and number with an old and a new marker: same check char
        self.assertEqual(hetu.check_char("010594", 903), "2")
        self.assertTrue(hetu.is_valid("010594-9032"))
        self.assertTrue(hetu.is_valid("010594Y9032"))
        self.assertNotEqual("010594-9032", "010594Y9032")

    def test_invalid(self):
        for h in ("123456-111A", "010594Y9033", "310290-9001", "010594G9032", "", None,
                  "010594Y903", "01059AY9032"):
            self.assertFalse(hetu.is_valid(h), h)

    def test_make_parse_roundtrip(self):
        d = datetime.date(2024, 2, 29)
        h = hetu.make(d, "B", 913)
        self.assertEqual(h[:7], "290224B")
        self.assertEqual(hetu.parse(h), (d, "B", 913))
        self.assertTrue(hetu.is_test_hetu(h))
        self.assertEqual(hetu.sex_of(h), "MIES")


if __name__ == "__main__":
    unittest.main()
