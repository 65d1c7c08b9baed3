"""CSV import of companies, contacts and rooms: upload, a dry-run preview of every row, then confirm.

The confirm carries the file itself, signed (itsdangerous), so no server state is kept between the
two steps and any app server can answer either. The rules are the domain's (models/imports.py).
"""
import base64
import binascii

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2_fragments.flask import render_block

from csv_export import stream_csv
from extensions import db
from models import RuleError
from models import imports
from permissions import can
from web import done, error_page, render

bp = Blueprint("imports", __name__)

SCREEN = "imports/index.html"
PREVIEW_MAX_AGE = 3600  # seconds a preview may be confirmed after it was shown
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
    return render(SCREEN, "import_screen", status=status, kinds=imports.KINDS, encodings=imports.ENCODINGS,
                  columns=imports.COLUMNS, max_bytes=current_app.config["IMPORT_MAX_BYTES"], **ctx)


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


def _check(kind: str, encoding: str, raw: bytes):
    """The file's rows through the domain inside the transaction (left open for the caller)."""
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if len(raw) > limit:
        raise RuleError(f"The file is {len(raw) / 1e6:.1f} MB; an import file may be at most {limit / 1e6:.0f} MB. "
                        "Split it into smaller files.", "file")
    if kind not in imports.KINDS:
        raise RuleError("Choose what the file holds: companies, contacts or rooms.", "kind")
    rows = imports.read_rows(kind, imports.decode(raw, encoding))
    return imports.run_import(kind, rows, current_user.reseller_id)


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
        result = _check(kind, data["e"], raw)
    except RuleError as err:
        return _refused(err)
    if result.errors:  # something changed since the preview: nothing is written
        db.session.rollback()
        return _screen(status=422, result=result, token=None, form={"kind": kind, "encoding": data["e"]})
    db.session.commit()
    message = (f"Imported {kind}: {result.count('create')} created, {result.count('update')} updated, "
               f"{result.count('no change')} unchanged.")
    if request.headers.get("HX-Request") != "true":
        flash(message)
    body = render_block(SCREEN, "import_screen", kinds=imports.KINDS, encodings=imports.ENCODINGS,
                        columns=imports.COLUMNS, max_bytes=current_app.config["IMPORT_MAX_BYTES"],
                        form={"kind": kind}, errors={}, result=result, token=None, done_message=message)
    return done(message, [f"{kind}-changed"], url_for(LIST_OF[kind]), body=body)
