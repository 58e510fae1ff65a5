"""The moto server for the AWS tests, with DynamoDB requests one at a time.

moto applies a conditional write as a check and then a write, with no lock
between them, and serves requests on many threads: two racing conditional
writes can both pass the check. DynamoDB makes each conditional write one
atomic step, and the store's race tests (exactly one claim, one transition,
one reminder advance wins) depend on that. Serialising the DynamoDB
requests gives the emulator the same atomicity; SQS and Secrets Manager
stay concurrent (a long poll must not hold up a send).

Usage: python scripts/moto_server.py HOST PORT
"""

import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def one_dynamodb_request_at_a_time(app):
    lock = threading.Lock()

    def serve(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with lock:
                # The response is produced inside the lock, whole.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return serve


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        one_dynamodb_request_at_a_time(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
