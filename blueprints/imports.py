"""CSV import of companies, contacts and rooms: upload, a dry-run preview of every row, then confirm.

The confirm carries the file itself, signed (itsdangerous), so no server state is kept between the
two steps and any app server can answer either. The rules are the domain's (models/imports.py).

A confirm of more than STREAM_FROM rows answers with a streamed page: the import runs in its one
transaction inside the response's generator, and the page shows its progress every PROGRESS_EVERY rows
as the rows are written, then the result, or the refused rows with nothing written. The progress lives
only in that response, so no worker keeps any state and no other connection writes while it runs.
"""
import base64
import binascii

from flask import Blueprint, Response, abort, current_app, flash, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2_fragments.flask import render_block
from sqlalchemy.exc import SQLAlchemyError

from csv_export import stream_csv
from extensions import db
from models import RuleError, explain
from models import imports
from permissions import can
from web import done, error_page, render

bp = Blueprint("imports", __name__)

SCREEN = "imports/index.html"
PREVIEW_MAX_AGE = 3600  # seconds a preview may be confirmed after it was shown
STREAM_FROM = 200  # a confirm of more rows than this streams its progress
PROGRESS_EVERY = 200  # rows between two progress lines
STREAM_MARK = "<!-- the progress and the result stream here -->"  # in templates/imports/index.html
LIST_OF = {"companies": "companies.index", "contacts": "contacts.index", "rooms": "rooms.index"}


@bp.before_request
@login_required
def require_login():
    if not can(current_user, "import_csv"):
        abort(403)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="csv-import")


def _screen(status=200, **ctx):
    ctx.setdefault("form", request.form if request.method == "POST" else {"kind": request.args.get("kind", "")})
    ctx.setdefault("errors", {})
    ctx.setdefault("result", None)
    ctx.setdefault("token", None)
    ctx.setdefault("done_message", None)
    return render(SCREEN, "import_screen", status=status, **_screen_context(), **ctx)


def _screen_context() -> dict:
    return {"kinds": imports.KINDS, "encodings": imports.ENCODINGS, "columns": imports.COLUMNS,
            "max_bytes": current_app.config["IMPORT_MAX_BYTES"], "stream_from": STREAM_FROM, "running": None}


def _refused(err: RuleError):
    db.session.rollback()
    return _screen(status=422, errors={err.field or "file": err.message})


@bp.get("/import")
def index():
    return _screen()


@bp.get("/import/template.csv")
def template():
    kind = request.args.get("kind")
    if kind not in imports.KINDS:
        return error_page(422, "Not possible", "Choose the template for companies, contacts or rooms.")
    return stream_csv(f"{kind}-template.csv", imports.template_header(kind), [])


def _read(kind: str, encoding: str, raw: bytes) -> list[tuple[int, dict]]:
    """The file's rows, or a RuleError for the file as a whole (size, kind, encoding, columns)."""
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if len(raw) > limit:
        raise RuleError(f"The file is {len(raw) / 1e6:.1f} MB; an import file may be at most {limit / 1e6:.0f} MB. "
                        "Split it into smaller files.", "file")
    if kind not in imports.KINDS:
        raise RuleError("Choose what the file holds: companies, contacts or rooms.", "kind")
    return imports.read_rows(kind, imports.decode(raw, encoding))


def _check(kind: str, encoding: str, raw: bytes):
    """The file's rows through the domain inside the transaction (left open for the caller)."""
    return imports.run_import(kind, _read(kind, encoding, raw), current_user.reseller_id)


@bp.post("/import/preview")
def preview():
    kind, encoding = request.form.get("kind", ""), request.form.get("encoding", "utf-8")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(RuleError("Choose a CSV file to upload.", "file"))
    raw = upload.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
    try:
        result = _check(kind, encoding, raw)
    except RuleError as err:
        return _refused(err)
    db.session.rollback()  # a dry run: nothing is written
    token = None
    if not result.errors:
        token = _serializer().dumps({"u": current_user.id, "k": kind, "e": encoding,
                                     "d": base64.b64encode(raw).decode()})
    return _screen(result=result, token=token, filename=upload.filename)


@bp.post("/import")
def create():
    try:
        data = _serializer().loads(request.form.get("payload", ""), max_age=PREVIEW_MAX_AGE)
        if data.get("u") != current_user.id:
            raise BadSignature("another user's preview")
        raw = base64.b64decode(data["d"], validate=True)
    except (BadSignature, KeyError, TypeError, binascii.Error):
        return _refused(RuleError("This preview has expired or was changed. Upload the file again.", "file"))
    kind = data["k"]
    try:
        rows = _read(kind, data["e"], raw)
    except RuleError as err:
        return _refused(err)
    if len(rows) > STREAM_FROM:
        return _streamed(kind, rows)
    result = imports.run_import(kind, rows, current_user.reseller_id)
    if result.errors:  # something changed since the preview: nothing is written
        db.session.rollback()
        return _screen(status=422, result=result, token=None, form={"kind": kind, "encoding": data["e"]})
    db.session.commit()
    message = _done_message(result)
    if request.headers.get("HX-Request") != "true":
        flash(message)
    body = render_block(SCREEN, "import_screen", **_screen_context(), form={"kind": kind}, errors={}, result=result,
                        token=None, done_message=message)
    return done(message, [f"{kind}-changed"], url_for(LIST_OF[kind]), body=body)


def _done_message(result) -> str:
    return (f"Imported {result.kind}: {result.count('create')} created, {result.count('update')} updated, "
            f"{result.count('no change')} unchanged.")


def _streamed(kind: str, rows: list[tuple[int, dict]]) -> Response:
    """The import page, streamed: its top at once, a progress line every PROGRESS_EVERY rows while the one
    transaction runs, then the result (committed) or the refused rows (rolled back, nothing written).

    The status is sent before the import runs, so a refusal is a 200 that says so in the page."""
    total, reseller_id = len(rows), current_user.reseller_id
    ctx = {**_screen_context(), "running": {"kind": kind, "total": total}, "list_url": url_for(LIST_OF[kind]),
           "again_url": url_for("imports.index", kind=kind)}
    head, tail = render_template(SCREEN, **ctx, done=0, total=total, result=None).split(STREAM_MARK)

    def body():
        yield head
        result = imports.ImportResult(kind)
        failure = None
        try:
            for count in imports.import_rows(result, rows, reseller_id):
                if count % PROGRESS_EVERY == 0 or count == total:
                    yield render_block(SCREEN, "import_tick", done=count, total=total)
            if not result.errors:
                db.session.commit()
        except SQLAlchemyError as exc:  # the commit refused: say why, in the words of every other write
            err = explain(exc)
            failure = err.message if err else "The database refused the import. Nothing was written: try it again."
        if result.errors or failure:
            db.session.rollback()
        yield render_block(SCREEN, "import_outcome", **ctx, result=result, failure=failure,
                           done_message=None if (result.errors or failure) else _done_message(result))
        yield tail

    resp = Response(stream_with_context(body()), mimetype="text/html")
    resp.headers["X-Accel-Buffering"] = "no"  # a proxy (nginx) passes each chunk on as it comes
    return resp
