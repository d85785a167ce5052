"""Carries the C++ library's log lines into logging.getLogger("EventHooks").

C++ threads only queue their lines; this daemon thread (and every trigger(), on its caller's thread) takes
them and logs them with the GIL held, so no C++ thread ever waits for Python. At exit the queue is closed and
the thread joined before the interpreter goes away; lines logged after that (warnings and worse) go to stderr.
"""
import atexit
import threading

from eventhooks import _eventhooks

_thread = None


def _pump():
    while _eventhooks._pump_logs(0.5):
        pass


def start():
    global _thread
    if _thread is not None:
        return
    _eventhooks._sync_log_level()
    _thread = threading.Thread(target=_pump, name="eventhooks-log", daemon=True)
    _thread.start()
    atexit.register(stop)


def stop():
    _eventhooks._close_logs()
    if _thread is not None and _thread is not threading.current_thread():
        _thread.join(timeout=2.0)
