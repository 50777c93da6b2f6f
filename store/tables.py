"""Domus's tables (SQLAlchemy Core). Domus's own database is the system of record.

Every record ever received is a `receipts` row with its raw text verbatim; a valid one
becomes (or repeats) a `notices` row; an invalid one also gets a `quarantine` row. Unique
keys make every write idempotent: a receipt per (file digest, record number), a notice per
fingerprint, a case per (court, docket), a task per (case, kind).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("summary", JSON),
    # who imported it: their OCMW and e-mail; both NULL for the local operator (0009)
    Column("ocmw", String(5)),
    Column("imported_by", String(320)),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_id", ForeignKey("batches.id"), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("record_no", Integer, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("raw", Text, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("fingerprint", String(32)),
    UniqueConstraint("source_sha256", "record_no", name="uq_receipts_source_record"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("court", String(500), nullable=False),
    Column("docket_number", String(500), nullable=False),
    Column("ocmw", String(5), index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("tenant_first_name", String(500)),
    Column("tenant_last_name", String(500), nullable=False),
    Column("tenant_language", String(2)),
    Column("street", String(500)),
    Column("house_number", String(500)),
    Column("box", String(500)),
    Column("postcode", String(500)),
    Column("municipality", String(500)),
    Column("hearing_at", DateTime),
    Column("earliest_eviction_on", Date),
    Column("eviction_at", DateTime),
    Column("first_received_on", Date, nullable=False),
    Column("caseworker", String(320)),  # the caseworker on the case (users.email)
    # The monitoring facts of the case, kept up to date by contacts and outcomes so that
    # statistics are one GROUP BY over cases (services/monitoring.py).
    Column("outcome_code", String(32)),
    Column("outcome_on", Date),
    Column("contact_attempted", Boolean, nullable=False, server_default=false()),
    Column("first_effective_contact_on", Date),
    Column("days_to_contact", Integer),  # working days from first receipt to that contact
    Column("home_visits", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # set by the retention job once the case's personal data is gone (0010)
    Column("pseudonymised_at", DateTime),
)

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(32), nullable=False, unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("receipt_id", ForeignKey("receipts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("filed_on", Date),
    Column("served_on", Date),
    Column("hearing_at", DateTime),
    Column("judgment_on", Date),
    Column("notified_on", Date),
    Column("eviction_at", DateTime),
    Column("moratorium_lifted", Boolean, nullable=False),
    Column("social_housing", Boolean, nullable=False),
    Column("data", JSON, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("assignee", String(320)),
    Column("rule", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("case_id", "kind", name="uq_tasks_case_kind"),
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("raised_at", DateTime, nullable=False),
    UniqueConstraint("case_id", "code", name="uq_flags_case_code"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("receipt_id", ForeignKey("receipts.id"), nullable=False, unique=True),
    Column("source", String(500), nullable=False),
    Column("record_no", Integer, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("errors", JSON, nullable=False),
    Column("data", JSON),  # the record as far as it could be read, for corrections
    Column("created_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
    Column("resolved_by_receipt_id", ForeignKey("receipts.id")),
)

triage = Table(
    "triage",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, unique=True),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
    Column("resolved_ocmw", String(5)),
    Column("resolution", Text),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-case
    Column("name", String(500), nullable=False),
    Column("role", String(16), nullable=False),
    Column("ocmw", String(5)),  # None for a regional monitor
    Column("language", String(2), nullable=False),
    Column("password_hash", Text),  # argon2; None until a password is set
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# API bearer tokens and calendar-feed tokens: only their SHA-256 is kept.
tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "api" | "calendar"
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("result", String(16), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("note", Text),
    Column("recorded_by", String(320), nullable=False),
    Column("created_at", DateTime, nullable=False),
    # imported contacts: the same contact imported twice (another export) is one contact
    Column("fingerprint", String(64), unique=True),
)

# Every notification Domus means to send, keyed so the same one is never written twice:
# (reason, task or case, deadline, recipient). Delivery claims a row before sending it.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("reason", String(16), nullable=False),  # due | overdue | escalated | at_risk | digest
    Column("recipient", String(320)),  # users.email; None: nobody to tell (status "held")
    Column("case_id", ForeignKey("cases.id")),
    Column("task_id", ForeignKey("tasks.id")),
    Column("due_on", Date, nullable=False),  # the deadline, event date or digest day
    Column("created_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | sent | failed | held
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claim", String(32)),
    Column("claimed_at", DateTime),
    Column("sent_at", DateTime),
    Column("last_error", Text),
    Column("message_id", String(200)),
    Column("subject", Text),
    Column("body", Text),
)

# The sweep reads the due tasks from this index alone (it covers the columns it needs).
# Everything that changed a case's contacts, outcome or referrals: who, when, before,
# after. Append-only: the migration adds triggers that refuse UPDATE and DELETE.
case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # contact | outcome | reopen | referral | …
    Column("actor", String(320), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    # set once when the retention job removed the row's free text; the only UPDATE the
    # trigger allows (0010)
    Column("redacted_at", DateTime),
)

# Who looked at or changed which case, and how (issue 6, audit): a data-protection request
# gets this trail. Append-only like case_events.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", String(16), nullable=False, index=True),
    Column("actor", String(320), nullable=False),
    Column("action", String(32), nullable=False),  # view | contact | outcome | …
    Column("channel", String(8), nullable=False),  # api | cli | web
    Column("at", DateTime, nullable=False),
)

# Web log-in sessions (issue 6): the cookie holds a signed random token, the table only its
# SHA-256; a session ends at log-out, after the idle timeout or when its user leaves.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the session token
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("ip", String(64)),
)

# Every log-in attempt, to slow brute force by e-mail and by address.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_login_attempts_email_at", "email", "at"),
    Index("ix_login_attempts_ip_at", "ip", "at"),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("programme", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # sent | accepted | refused | housed | closed
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# Letter templates: the packaged ones and those an administrator uploads, each version kept;
# one active version per kind and language.
letter_templates = Table(
    "letter_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("language", String(2), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),  # under the data directory, or the packaged file
    Column("source", String(16), nullable=False),  # "packaged" | "uploaded"
    Column("note", Text),
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("active", Boolean, nullable=False),
    UniqueConstraint("kind", "language", "version", name="uq_letter_templates_version"),
)

# The letter register: every letter rendered, with its file's digest.
letters = Table(
    "letters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("language", String(4), nullable=False),  # nl | fr | both
    Column("template_versions", JSON, nullable=False),  # {"fr": 3, "nl": 1}
    Column("task_id", ForeignKey("tasks.id"), unique=True),  # set by the batch: one per task
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pdf_path", Text),
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

Index("ix_tasks_status_due", tasks.c.status, tasks.c.due_on, tasks.c.case_id, tasks.c.assignee)
Index("ix_tasks_assignee_status", tasks.c.assignee, tasks.c.status)
# My tasks: a caseworker's open tasks by due date, with the case id to check its OCMW in
# ix_cases_ocmw_id: counting them reads no table row (0008)
Index("ix_tasks_assignee_open_case", tasks.c.assignee, tasks.c.status, tasks.c.due_on,
      tasks.c.id, tasks.c.case_id)
Index("ix_cases_ocmw_id", cases.c.ocmw, cases.c.id)
Index("ix_cases_hearing_at", cases.c.hearing_at)
Index("ix_cases_eviction_at", cases.c.eviction_at)
# The statistics (services/monitoring.py) read the monitoring facts from this index alone, in
# its order: by OCMW and postcode, one scan and no sort.
Index("ix_cases_monitoring", cases.c.ocmw, cases.c.postcode, cases.c.outcome_code,
      cases.c.contact_attempted, cases.c.days_to_contact, cases.c.first_effective_contact_on,
      cases.c.home_visits, cases.c.first_received_on)
Index("ix_outbox_status_next", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_quarantine_open", quarantine.c.resolved_at)
