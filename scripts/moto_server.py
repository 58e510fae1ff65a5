"""The moto server for the AWS tests, with DynamoDB requests one at a time.

moto applies a conditional write as a check and then a write, with no lock
between them, and serves requests on many threads: two racing conditional
writes can both pass the check. DynamoDB makes each conditional write one
atomic step, and the store's race tests (exactly one claim, one transition,
one reminder advance wins) depend on that. Serialising the DynamoDB
requests gives the emulator the same atomicity; SQS and Secrets Manager
stay concurrent (a long poll must not hold up a send).

moto also backs up, for every item of a TransactWriteItems call, the
*whole table* it writes to (a deep copy, to restore if the transaction is
cancelled): a transaction costs time and memory in proportion to the
table, so a test with a thousand conversations slows to a crawl and the
server grows by gigabytes. `transactions_back_up_their_items` makes the
backup the items the transaction touches instead: the same all-or-nothing
outcome (requests are one at a time, so nothing else sees the partial
state) at a cost that does not grow with the table.

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


def transactions_back_up_their_items():
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend = models.DynamoDBBackend
    transact = backend.transact_write_items

    class TablesAsThemselves:
        """`copy` for moto's transaction code: a table "copy" is the table."""

        @staticmethod
        def deepcopy(value, memo=None):
            if isinstance(value, Table):
                return value
            return copy.deepcopy(value, memo)

    def touched(self, transact_items):
        """(table, key, a copy of the item as it is now or None) per op."""
        found = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            if "Item" in op:
                names = [table.hash_key_attr, table.range_key_attr]
                key = {n: op["Item"][n] for n in names if n and n in op["Item"]}
            else:
                key = op.get("Key") or {}
            try:
                item = self.get_item(table.name, key)
            except Exception:  # a bad key: the transaction will say so
                continue
            found.append((table.name, key, copy.deepcopy(item)))
        return found

    def transact_write_items(self, transact_items):
        before = touched(self, transact_items)
        try:
            return transact(self, transact_items)
        except Exception:
            for table_name, key, item in reversed(before):
                if item is None:
                    if self.get_item(table_name, key) is not None:
                        self.get_table(table_name).delete_item(
                            *self.get_keys_value(self.get_table(table_name), key)
                        )
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            raise

    models.copy = TablesAsThemselves
    backend.transact_write_items = transact_write_items


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    transactions_back_up_their_items()
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
