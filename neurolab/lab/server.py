"""The lab's HTTP server: ``serve`` starts one on a background thread and returns a :class:`LabServer`.

The standard library's ``ThreadingHTTPServer`` answers each connection on a thread of its
own; :mod:`.api` does the work. This module is the guard at the door. Before a request
reaches an endpoint:

* its ``Host`` header must name this server (see :mod:`.hosts`: a page from another site
  that points its own domain name at 127.0.0.1, DNS rebinding, sends its own name), else 403;
* an ``Origin`` header, when a browser sends one, must be this server's own; a POST must
  say ``Content-Type: application/json`` (which another site's page can only send after a
  CORS preflight, which is never granted), and its body must declare its length, at most
  ``Lab.max_body`` bytes (413 without reading it);
* the path must be one of ``api.ROUTES`` (404), with its method (405), or ``/`` and
  ``/static/<name>`` for the page's files (see :mod:`.files`: a request names a file from a
  list made when the server started, never a path).

Every answer is JSON, errors included (``{"error": "..."}``); an error inside the lab is
logged to stderr with its traceback and answered with a 500 whose message names no code.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import traceback
import warnings
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .api import ROUTES, Lab
from .fields import RequestError, json_object
from .files import PAGE_POLICY, page_files
from .hosts import Hosts, is_loopback
from .training import Watch

TIMEOUT_SECONDS = 30  # a connection that sends nothing this long is closed


def serve(net, *, port: int = 8765, host: str = "127.0.0.1", data=None, train_data=None,
          open_browser: bool = False, input_features: int | None = None) -> "LabServer":
    """Serve the lab page for ``net`` on a background thread; return the running server.

    Parameters
    ----------
    net : NeuralNetwork
        Shown as it is, and as it changes: requests read it (never change it), and while
        it trains they read snapshots of it (see :mod:`neurolab.lab.training`).
    port : int
        0 picks a free port; ``LabServer.url`` says which.
    host : str
        The address to bind. The default, 127.0.0.1, is reachable from this machine only;
        any other address exposes the model (and training it) to whoever can reach it, and
        warns so.
    data : (X_test, y_test), optional
        Samples for the page to pick (next, random, misclassified), as ``net.predict`` takes them.
    train_data : (X, y), optional
        Enables the page's train panel: ``fit`` on these, on a thread of the lab's.
    open_browser : bool
        Open the page in the default web browser.
    input_features : int, optional
        The width of one input, for a network that cannot say it (a custom first layer that
        changes the width, never trained). Otherwise it is the network's own input shape
        (``net.input_shape`` for one whose first layer is ``Conv2D``); see
        :func:`neurolab.lab.model.input_shape`.

    Returns
    -------
    LabServer
        With ``url``, ``watch()`` and ``close()``; a context manager that closes it.

    Raises
    ------
    OSError
        If the address cannot be bound (e.g. the port is in use).
    """
    lab = Lab(net, data=data, train_data=train_data, input_features=input_features)
    if not is_loopback(host):
        warnings.warn(
            f"lab.serve: serving on {host}, which other machines may reach: anyone who can reach "
            "it can see the model and train it; use host='127.0.0.1' to serve this machine only",
            UserWarning,
            stacklevel=2,
        )
    server = LabServer(lab, host, port)
    if open_browser:
        webbrowser.open(server.url)
    return server


class LabServer:
    """A running lab: the HTTP server, on a thread of its own, and the lab it serves.

    Attributes
    ----------
    url : str
        Where the page is, e.g. ``http://127.0.0.1:8765/``.
    lab : Lab
        The state behind the API.
    """

    def __init__(self, lab: Lab, host: str, port: int) -> None:
        self.lab = lab
        self._http = _HTTPServer(host, port, lab)
        self.host, self.port = host, self._http.server_address[1]
        name = f"[{host}]" if ":" in host else host
        self.url = f"http://{name}:{self.port}/"
        self._thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="neurolab-lab-server", daemon=True
        )  # polls for close() every 0.05 s
        self._thread.start()
        self._closed = False

    def watch(self) -> Watch:
        """A callback that shows a ``fit`` of the served network on the page (see :class:`~neurolab.lab.training.Watch`)."""
        return Watch(self.lab.snapshots, self.lab.progress)

    def close(self) -> None:
        """Stop serving: stop the page's training (after its current batch), close every connection. Idempotent.

        A ``fit`` watched from Python carries on (without the page).
        """
        if self._closed:
            return
        self._closed = True
        self.lab.progress.request_stop("page")
        if self.lab.trainer is not None:
            self.lab.trainer.join()
        self._http.shutdown()
        self._http.close_connections()
        self._http.server_close()
        self._thread.join()

    def __enter__(self) -> "LabServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabServer(url={self.url!r}{', closed' if self._closed else ''})"


class _HTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that knows its lab, its ``Host`` values, the page's files, and its open connections."""

    daemon_threads = True  # an open connection never keeps the process alive

    def __init__(self, host: str, port: int, lab: Lab) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.lab = lab
        self.hosts = Hosts(host, self.server_address[1])
        self.files = page_files()
        self._connections: set = set()
        self._lock = threading.Lock()

    def process_request(self, request, client_address):
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection (a browser keeps them open), so a closed server answers nothing more."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by the other end
                pass


class _Handler(BaseHTTPRequestHandler):
    """One connection: each request is checked, routed to the lab, and answered in JSON (or a static file)."""

    protocol_version = "HTTP/1.1"  # keep-alive: the page's requests reuse one connection
    disable_nagle_algorithm = True  # else the body, written after the headers, waits for an ACK the client delays (40 ms)
    server_version = "neurolab-lab"
    sys_version = ""
    timeout = TIMEOUT_SECONDS
    server: _HTTPServer  # the server that made this handler (socketserver sets it)

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def do_PUT(self):
        self._answer("PUT")

    def do_PATCH(self):
        self._answer("PATCH")

    def do_DELETE(self):
        self._answer("DELETE")

    def do_HEAD(self):
        self._answer("HEAD")

    def do_OPTIONS(self):
        self._answer("OPTIONS")

    def _answer(self, method: str) -> None:
        self._consumed = False  # whether the request's body has been read
        path = urlsplit(self.path).path
        where = f"{method} {path[:80]}"
        try:
            self._check_origin(where)
            route = ROUTES.get(path)
            if route is None:
                self._static(method, path, where)
                return
            if method != route.method:
                raise _MethodNotAllowed(route.method, f"{where}: expected method {route.method}, got {method}")
            self.server.lab.snapshots.touch()
            fields = self._fields(method, where)
            payload = getattr(self.server.lab, route.handler)(fields)
            self._send_json(route.status, payload, where)
        except _MethodNotAllowed as error:
            self._send_json(405, {"error": str(error)}, where, headers={"Allow": error.allowed})
        except RequestError as error:
            self._send_json(error.status, {"error": str(error)}, where)
        except Exception:  # a fault of the lab, not of the request: logged, and the server carries on
            print(f"neurolab lab: error while answering {where}:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            self._send_json(500, {"error": f"{where}: the lab failed to answer (the error is in the server's log)"}, where)

    # -- the checks ---------------------------------------------------------------------
    def _check_origin(self, where: str) -> None:
        """Refuse a ``Host`` other than this server's (DNS rebinding) and another site's ``Origin``."""
        host = self.headers.get("Host")
        if host is None or not self.server.hosts.allow(host):
            raise RequestError(
                403, f"{where}: expected the Host header to be one of {sorted(self.server.hosts.names)}, got "
                f"{(host or 'none')[:80]!r}; open the page at the address the server printed"
            )
        origin = self.headers.get("Origin")
        if origin is not None and not self.server.hosts.allow_origin(origin):
            raise RequestError(403, f"{where}: expected requests from this server's own page, got Origin {origin[:80]!r}")

    def _fields(self, method: str, where: str) -> dict:
        """The request's fields: its query for GET; for POST its JSON body (and no query)."""
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        if method == "GET":
            return query
        if query:
            raise RequestError(400, f"{where}: expected the fields in the JSON body, got a query string")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(415, f"{where}: expected Content-Type application/json, got {content_type[:80] or 'none'!r}")
        return json_object(self._body(where), where)

    def _body(self, where: str) -> bytes:
        """The body, of the declared ``Content-Length``, at most ``lab.max_body`` bytes (never read beyond)."""
        self._consumed = True
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            self._drain = self.server.lab.max_body
            raise RequestError(411, f"{where}: expected a body with a Content-Length, got Transfer-Encoding {self.headers['Transfer-Encoding'][:40]!r}")
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise RequestError(411, f"{where}: expected a Content-Length header, got none")
        if not (length.isascii() and length.isdigit()) or len(length) > 18:
            self.close_connection = True
            raise RequestError(400, f"{where}: expected Content-Length to be a number of bytes, got {length[:40]!r}")
        limit = self.server.lab.max_body
        if int(length) > limit:
            self.close_connection = True
            self._drain = int(length)
            raise RequestError(413, f"{where}: expected a body of at most {limit} bytes, got {int(length)}")
        return self.rfile.read(int(length))

    def _settle_body(self) -> None:
        """Read a body the answer did not need, so that the next request on the connection starts where it should.

        A body of unknown or excessive length is not read: the connection is closed after
        the answer (and a large body drained, see ``_discard_body``).
        """
        if getattr(self, "_consumed", True):
            return
        self._consumed = True
        length = self.headers.get("Content-Length", "0")
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            self._drain = self.server.lab.max_body
        elif not (length.isascii() and length.isdigit()) or len(length) > 18:
            self.close_connection = True
        elif int(length) > self.server.lab.max_body:
            self.close_connection = True
            self._drain = int(length)
        elif int(length):
            self.rfile.read(int(length))

    # -- the answers --------------------------------------------------------------------
    def _static(self, method: str, path: str, where: str) -> None:
        """``/`` is ``static/index.html``; ``/static/<name>`` is the file of that name listed at start."""
        name = "index.html" if path == "/" else path[len("/static/"):] if path.startswith("/static/") else None
        found = self.server.files.get(name)
        if found is None:
            raise RequestError(404, f"{where}: expected one of the lab's paths (/, /static/<file>, /api/...), got {path[:80]!r}")
        if method != "GET":
            raise _MethodNotAllowed("GET", f"{where}: expected method GET, got {method}")
        resource, content_type = found
        headers = {"Content-Security-Policy": PAGE_POLICY, "X-Frame-Options": "DENY"} if content_type.startswith("text/html") else {}
        self._send(200, resource.read_bytes(), content_type, headers)

    def _send_json(self, status: int, payload: dict, where: str, headers: dict | None = None) -> None:
        try:
            body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except ValueError:  # NaN or infinity in an answer: the network gives them, JSON cannot carry them
            status, body = 422, json.dumps({
                "error": f"{where}: expected finite numbers in the answer, got NaN or infinity; the network's "
                "weights hold NaN or infinity, or overflow on this input"
            }).encode("utf-8")
        self._send(status, body, "application/json", headers or {})

    def _send(self, status: int, body: bytes, content_type: str, headers: dict) -> None:
        self._settle_body()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":  # the answer to HEAD is the headers alone
            self.wfile.write(body)
        self._discard_body()

    def _discard_body(self) -> None:
        """After refusing a body unread, read what the client still sends (up to a few MiB, for a second), so that it can read the answer.

        Closing a socket with unread data makes the system reset the connection, and the
        client would see "connection reset" instead of the 413.
        """
        remaining = getattr(self, "_drain", 0)
        self._drain = 0
        if not remaining:
            return
        self.connection.settimeout(1.0)
        remaining = min(remaining, 4 * self.server.lab.max_body)
        try:
            while remaining > 0:
                chunk = self.rfile.read1(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:  # a timeout or a reset: the answer was sent, nothing more to do
            pass

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (a malformed request line, too many headers, an unknown method) in JSON too."""
        self.close_connection = True
        text = message or self.responses.get(code, ("error",))[0]
        try:
            self._send_json(code, {"error": f"{self.command or 'request'}: expected a well-formed HTTP request, got {text}"}, "")
        except OSError:  # the client is gone
            pass

    def log_message(self, format, *args):
        """Quiet: a request is not worth a line of the terminal (errors are logged where they happen)."""


class _MethodNotAllowed(RequestError):
    def __init__(self, allowed: str, message: str) -> None:
        super().__init__(405, message)
        self.allowed = allowed
