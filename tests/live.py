"""What a test's live (threaded) server needs: a quiet request log, and the app's exceptions kept."""
import traceback

from werkzeug.serving import WSGIRequestHandler


class QuietHandler(WSGIRequestHandler):
    """No access log lines; errors are still reported."""

    def log_request(self, code="-", size="-"):
        pass


class Recorder:
    """WSGI middleware that remembers exceptions the app raised while serving, so a test can show them."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.errors: list[str] = []

    def __call__(self, environ, start_response):
        try:
            return self.wsgi_app(environ, start_response)
        except Exception:
            self.errors.append(f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}\n{traceback.format_exc()}")
            raise
