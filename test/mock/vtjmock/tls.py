"""Optional HTTPS: a throw-away CA, a server certificate for localhost /
127.0.0.1 and (for mutual TLS) a client certificate, made with the openssl
command-line tool; the server side uses the stdlib ssl module."""
import os
import shutil
import ssl
import subprocess
import tempfile


class TLSUnavailable(Exception):
    pass


FILES = ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")


def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise TLSUnavailable("openssl failed: %s\n%s" % (" ".join(args), r.stderr.decode(errors="replace")))


def ensure_certs(directory=None):
    """Create (or reuse) the certificates in `directory`; returns it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TLSUnavailable("--tls needs the openssl command-line tool, which is not in PATH "
                             "(Debian: apt-get install openssl)")
    if directory is None:
        directory = tempfile.mkdtemp(prefix="vtj-mock-tls-")
    os.makedirs(directory, exist_ok=True)
    if all(os.path.exists(os.path.join(directory, f)) for f in FILES):
        return directory
    d = directory
    _run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
          "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=vtj-mock test CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=clientAuth\n")
    for who, cn in (("server", "localhost"), ("client", "vtj-mock-client")):
        _run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", who + ".key",
              "-out", who + ".csr", "-subj", "/CN=" + cn], d)
        _run([openssl, "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
              "-CAcreateserial", "-out", who + ".pem", "-days", "825", "-sha256",
              "-extfile", who + ".ext"], d)
    for f in ("ca.key", "server.key", "client.key"):
        os.chmod(os.path.join(d, f), 0o600)
    return directory


def server_context(directory, require_client_cert=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(directory, "ca.pem"))
    return ctx
