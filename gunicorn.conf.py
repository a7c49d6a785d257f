"""How gunicorn serves the LMS: one place, read by ``scripts/run`` and the exam-day bench (docs/deploy.md shows
it on a production host). Every value can be changed by an environment variable, or by gunicorn's own flags after
``-c gunicorn.conf.py`` on the command line.

Sizing (measured by ``scripts/bench --only examday``, see bench/README.md "Exam day"): a request of this
application is CPU in Python (the GIL: one process uses at most one core) plus short waits on the database.
"""

import os

bind = f"127.0.0.1:{os.environ.get('LMS_PORT', '5000')}"
workers = int(os.environ.get("LMS_WORKERS") or 3)  # 3 on 2 cores: bench/README "Exam day", 3×4 run
threads = int(os.environ.get("LMS_THREADS") or 4)
os.environ["LMS_THREADS"] = str(threads)  # the app sizes its sign-in bound from it (lms/core/slots.py)
timeout = 300
# Kept-alive connections of a browser between its requests (seconds). nginx in front keeps its own.
keepalive = int(os.environ.get("LMS_KEEPALIVE") or 2)
accesslog = os.environ.get("LMS_ACCESS_LOG", "-") or None
