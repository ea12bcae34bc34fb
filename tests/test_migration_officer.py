"""Migration officer_1 keeps what was saved: reviewers invited before the registry keep reaching their
cases (their units become registry units), and open invitations keep working but no longer as bearer
links (hashed, waiting for an admin) while their plaintext codes disappear."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from bot.config import Settings
from bot.reply import Who
from bot.runtime import build_runtime
from storage import access, units
from storage.db import make_engine
from storage.invitations import RoleInvitation, code_hash
from storage.migrate import _config, upgrade
from storage.models import Case
from tests.driver import drive


def test_officer_1_turns_old_units_into_registry_units_and_seals_open_invitations(database_url):
    engine = make_engine(database_url)
    cfg = _config()
    with engine.begin() as conn:  # storage/migrate.py: a connection, never the URL, goes into the Config
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO membership (user_id, role, policy_key, unit, created_at) "
                          "VALUES (602, 'unit_reviewer', 'zhejiang', '浙江大学 材料学院', :t)"), {"t": now})
        conn.execute(text("INSERT INTO invitation (code, role, policy_key, created_by, created_at, expires_at, revoked) "
                          "VALUES ('OLD-CODE-123', 'officer', 'dongguan', 900, :t, :e, :f)"),
                     {"t": now, "e": now + dt.timedelta(days=2), "f": False})
        conn.execute(text('INSERT INTO "case" (number, draft_id, applicant_id, policy_key, policy_version, state, '
                          "answers, submitted_at) VALUES ('ZJ-2026-0001', 1, 501, 'zhejiang', 1, 'unit_review', "
                          ":a, :t)"), {"a": '{"project": {"unit": "浙江大学🔬材料学院"}}', "t": now})
    upgrade(engine)
    with Session(engine) as s:
        [unit] = s.exec(select(units.Unit)).all()
        assert unit.name == "浙江大学 材料学院" and unit.status == "active"
        case = s.exec(select(Case)).one()
        assert "unit_reviewer" in access.roles_on(s, 602, case)  # the reviewer still reaches the case
        sealed = s.exec(select(RoleInvitation)).one()
        assert sealed.code_hash == code_hash("OLD-CODE-123") and sealed.for_user_id is None
        old = s.execute(text("SELECT code, revoked FROM invitation")).one()
        assert old[0] != "OLD-CODE-123" and "OLD-CODE-123" not in old[0] and old[1]
    rt = build_runtime(Settings(database_url=database_url, admin_ids=[900], _env_file=None))
    reply = drive(rt).start(Who(611, "旧邀请"), payload="OLD-CODE-123")
    assert "管理员确认" in reply.view.text  # still usable, now only with an admin's confirmation
