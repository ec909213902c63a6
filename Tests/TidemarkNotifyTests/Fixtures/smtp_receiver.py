"""A real SMTP server (PyPI aiosmtpd) on 127.0.0.1 for the email sink's tests.

usage: smtp_receiver.py OUTDIR [USER PASSWORD]

Listens on a free port, prints it on the first line of standard output, and writes each message
it accepts to OUTDIR/NNN.json ({mail_from, rcpt_tos, login, data}). With USER and PASSWORD it
requires AUTH (PLAIN or LOGIN; allowed without TLS: the server is on loopback) and refuses any
other login with 535. TM_SMTP_HOST names another address to listen on (a non-loopback one, to
check that a password is never sent there without TLS). Runs until standard input closes.
"""
import asyncio
import json
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

out = sys.argv[1]
credentials = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else None


class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "login": login,
                  "data": envelope.original_content.decode("utf-8")}
        path = os.path.join(out, f"{self.count:03d}.json")
        with open(path + ".partial", "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.rename(path + ".partial", path)
        return "250 2.0.0 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == credentials:
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


async def main():
    loop = asyncio.get_running_loop()
    handler = Handler()
    options = {}
    if credentials:
        options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    server = await loop.create_server(lambda: SMTP(handler, hostname="receiver.test", **options), os.environ.get("TM_SMTP_HOST", "127.0.0.1"), 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


asyncio.run(main())
