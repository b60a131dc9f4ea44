"""A real SMTP server for Confab's mail tests (tests/it/mail.rs), built on aiosmtpd.

    python3 tests/smtp/sink.py PORT OUTFILE [--reject N]

Listens on 127.0.0.1:PORT and appends each message it accepts to OUTFILE as one JSON line:
{"from": ..., "to": [...], "subject": ..., "body": ...} (the body decoded from its transfer
encoding). With --reject N it answers the first N messages with a temporary failure (451)
instead, and N = -1 rejects every message. Prints "ready" once it accepts connections and
runs until killed.
"""

import argparse
import email
import email.policy
import json
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outfile, reject):
        self.outfile = outfile
        self.reject = reject
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.reject != 0:
                if self.reject > 0:
                    self.reject -= 1
                return "451 4.3.0 try again later (the test asked for it)"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            part = message.get_body(preferencelist=("plain",))
            record = {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(message["subject"]),
                "body": part.get_content() if part is not None else "",
            }
            with open(self.outfile, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("outfile")
    parser.add_argument("--reject", type=int, default=0)
    args = parser.parse_args()
    controller = Controller(Sink(args.outfile, args.reject), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
