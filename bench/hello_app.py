"""The limits for the HTTP benchmarks, served by the same gunicorn as the product.

* ``app``: hello world in plain Flask (the limit of the page benchmarks);
* ``create_noop_app()``: the product app with one bench-only route, ``/bench/noop``, that does nothing
  after the product's own session and CSRF checks (signed cookie, login-session lookup, permission check,
  CSRF token for POST): the limit of the heartbeat and exam-storm benchmarks (POST), and the floor of every
  signed-in page (GET: what the product costs before a page reads or renders anything). It exists only here,
  never in the product.
"""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"


def create_noop_app() -> Flask:
    """The product app plus POST /bench/noop (signed in, CSRF-checked)."""
    from flask import Blueprint, request

    from lms.app import create_app
    from lms.core.permissions import signed_in

    bp = Blueprint("bench", __name__)

    @bp.route("/bench/noop", methods=["GET", "POST"])
    @signed_in
    def noop():
        if request.method == "GET":
            return "ok"
        request.get_json(silent=True)
        return jsonify({"ok": True})

    product = create_app()
    product.register_blueprint(bp)
    import gc

    gc.collect()  # as wsgi.py does for the product
    gc.freeze()
    return product
