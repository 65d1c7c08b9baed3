"""The domain: typed models, tenant scoping, and every rule and write.

Views and the CLI call these functions and hold no rule of their own. Every
write to companies, contacts, rooms and hosting goes through them, so the
rules and the audit trail live in one place. A blocked rule raises RuleError,
which the views show next to the named field.

A database conflict (a unique key taken meanwhile, a row changed or deleted
meanwhile) raises RuleError too: see conflicts.py.

Callers keep ``import models``: this module re-exports the package.
"""
from .errors import RuleError
from .schema import (
    COMPANY_TYPES,
    CONTACT_STATES,
    CUSTOMER_STATUSES,
    EXPIRING_SOON_DAYS,
    NAME_KEY_MAX,
    NAME_MAX,
    PRODUCT_TYPES,
    ROOM_STATUSES,
    STORED_ROLES,
    Company,
    CompanyType,
    Contact,
    ContactState,
    CustomerStatus,
    EmbedTokenUse,
    Hosting,
    OutboxMessage,
    PasswordToken,
    ProductType,
    Reseller,
    Role,
    Room,
    RoomStatus,
    set_now,
    today,
    utcnow,
)
from .audit_event import AuditEvent
from .history import ACTION_LABELS, OBJECT_TYPES, Entry, EventPage, activity_stmt, event_page, history_stmt
from .tenancy import DENY, MAX_INT, TENANT_MODELS, Scope, current_scope, get_or_404, scope_for
from .conflicts import UNIQUE_KEYS, explain, guarded, lock
from .audit import HIDDEN, actor_id, apply_changes, audit, check_version, created, mask, removed
from .rules import clean_choice, clean_email, clean_int, clean_name
from .passwords import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    TOKEN_LIFETIME,
    check_new_password,
    expire_password_links,
    find_password_token,
    issue_password_token,
    send_password_link,
    set_password_with_token,
    token_hash,
)
from .companies import (
    company_counts,
    company_delete_impact,
    check_company_name,
    company_name_taken,
    create_company,
    describe_impact,
    live_contacts_of_company,
    live_rooms_of_company,
    update_company,
)
from .rooms import (
    saved_message,
    ROOM_SETTINGS,
    check_slug,
    create_room,
    end_date_for,
    keep_terms,
    room_delete_impact,
    save_edit,
    slug_taken,
    slugify,
    unique_slug,
    update_room,
    update_room_settings,
)
from .hosting import give_personal_room, link, linkable_contacts, linkable_rooms, make_owner, unlink
from .contacts import (
    change_company,
    change_company_check,
    change_company_impact,
    clean_contact_email,
    contact_delete_blocker,
    contact_delete_impact,
    contact_rooms,
    create_contact,
    email_taken,
    rooms_by_contact,
    set_roles,
    update_contact,
)
from .resellers import (
    clean_logo_url,
    clean_origins,
    create_reseller,
    create_user,
    reseller_counts,
    update_reseller_settings,
)
from .embed import drop_previous_embed_secret, end_embed_sessions, rotate_embed_secret, use_embed_token
from .sessions import EndedSession, end_all_sessions, end_login_session, signed_in
from .trash_schema import TRASH_KINDS, TrashItem
from .trash import (
    Collision,
    RestoreConflict,
    delete_company,
    delete_contact,
    delete_room,
    purge,
    restorable_since,
    restore,
    trash_company,
    trash_contact,
    trash_days,
    trash_items,
    trash_link,
    trash_room,
)
from . import list_index  # noqa: F401  (the sort indexes join the metadata)
from .search import with_host_count, search_companies, search_contacts, search_rooms
from .reports import TRIAL_STATUSES, TrialReport, default_range, outcome, trial_report, trial_rooms
from . import imports  # noqa: E402  (CSV import: models.imports)
from .lifecycle import (
    BULK_ACTIONS,
    back_to_demo,
    bulk_action,
    convert_room,
    extend_room,
    home_summary,
    make_customer,
    set_own_trial_notices,
    suspend_room,
)
from .notices import NOTICE_KINDS, queue_trial_notices
from .preferences import set_preferences
