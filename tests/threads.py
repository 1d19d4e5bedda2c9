"""Run work in real threads that start together, for race tests on PostgreSQL."""

import threading

from django.db import connection


def run_in_threads(count: int, work) -> list:
    """Start `count` threads at one barrier, each calling work(index); return what each returned or raised.

    Each thread closes its own database connection when done, so the test database can be flushed.
    """
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:  # collected for the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
