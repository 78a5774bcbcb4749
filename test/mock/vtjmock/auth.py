"""Credentials of the REST interface and of VTJkysely.

REST accepts HTTP Basic (current clients) or the MUTP-Tunnus/MUTP-Salasana
header pair (evaka 2020-2026).  The product is bound to the account:
mutpT1x censors protected persons as production does, mutpT1 does not.
"""
import base64
import binascii

ACCOUNTS = ("mutpT1", "mutpT1x")


class Auth:
    def __init__(self, password):
        self.password = password

    def check(self, user, password):
        if user in ACCOUNTS and password == self.password:
            return user
        return None

    def from_headers(self, headers):
        """-> (account or None, reason)."""
        authz = headers.get("authorization")
        if authz:
            scheme, _, value = authz.partition(" ")
            if scheme.lower() != "basic":
                return None, "unsupported authorization scheme"
            try:
                user, sep, pw = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None, "malformed Basic credentials"
            if not sep:
                return None, "malformed Basic credentials"
            acc = self.check(user, pw)
            return (acc, None) if acc else (None, "invalid username or password")
        user = headers.get("mutp-tunnus")
        pw = headers.get("mutp-salasana")
        if user is not None or pw is not None:
            acc = self.check(user or "", pw or "")
            return (acc, None) if acc else (None, "invalid username or password")
        return None, "credentials required"
