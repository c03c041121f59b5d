"""Users, roles and tokens: the plain token is never stored, verification is exact, bad tokens fail."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from callops.errors import CallopsError, NotFound
from callops.store import audit, tokens, users
from callops.store.db import Store
from callops.store.models import Base, Role

from .storetest import T0


def _all_text(store: Store) -> str:
    """Every value of every row of every table, as one string (to search for leaked secrets)."""
    parts = []
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


def test_sha256_against_published_vector() -> None:
    # FIPS 180-2 example: SHA-256("abc")
    assert tokens.hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@given(st.text(min_size=1), st.text(min_size=1))
def test_verify_iff_equal(a: str, b: str) -> None:
    assert tokens.verify_token(a, tokens.hash_token(b)) == (a == b)
    assert not tokens.verify_token(a, None)


def test_token_shape() -> None:
    new = tokens.new_token()
    assert tokens.TOKEN_RE.match(new.plain)
    assert new.plain.startswith(new.prefix + "_")
    assert tokens.token_prefix(new.plain) == new.prefix
    assert new.token_hash == hashlib.sha256(new.plain.encode()).hexdigest()
    assert len({tokens.new_token().plain for _ in range(200)}) == 200


def test_plain_token_never_stored(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    with store.session() as s:
        user, plain = users.create_user(s, acme, "ann", "dispatcher", "test")
        second = users.issue_token(s, acme, user.id, "test", label="wallboard")
    dump = _all_text(store)
    for token in (plain, second):
        secret = token.split("_", 2)[2]
        assert token not in dump and secret not in dump
        assert tokens.hash_token(token) in dump  # only the hash is there
    with store.session() as s:
        for entry in audit.list_audit(s, acme):
            assert "token_hash" not in (entry.after or {})


def test_authenticate(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, beta = two_tenants
    with store.session() as s:
        _, token = users.create_user(s, acme, "ann", "dispatcher", "test")
        _, beta_token = users.create_user(s, beta, "bob", "analyst", "test")
    with store.session() as s:
        p = users.authenticate(s, token)
        assert p is not None and (p.tenant_id, p.user_name, p.role) == (acme, "ann", Role.dispatcher)
        assert users.authenticate(s, beta_token).tenant_id == beta
        # one character changed, anywhere in the secret
        for i in (-1, len(token) // 2 + 10):
            c = token[i]
            forged = token[:i] + ("A" if c != "A" else "B") + (token[i + 1 :] if i != -1 else "")
            assert users.authenticate(s, forged) is None
        # right prefix, someone else's secret
        mixed = token.rsplit("_", 1)[0] + "_" + beta_token.rsplit("_", 1)[1]
        assert users.authenticate(s, mixed) is None
        for bad in ("", "garbage", "co_", token + "x", token.upper(), " " + token):
            assert users.authenticate(s, bad) is None


def test_revoked_expired_disabled(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    with store.session() as s:
        ann, token = users.create_user(s, acme, "ann", "admin", "test")
        expiring = users.issue_token(s, acme, ann.id, "test", expires_at=T0 + timedelta(hours=1))
    with store.session() as s:
        assert users.authenticate(s, expiring, now=T0) is not None
        assert users.authenticate(s, expiring, now=T0 + timedelta(hours=1)) is None
        first = users.list_tokens(s, acme, ann.id)[0]
        users.revoke_token(s, acme, first.id, "test")
        assert users.authenticate(s, token) is None
        assert users.authenticate(s, expiring, now=T0) is not None
        users.disable_user(s, acme, ann.id, "test")
        assert users.authenticate(s, expiring, now=T0) is None


def test_roles_and_names(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, beta = two_tenants
    with store.session() as s:
        with pytest.raises(CallopsError, match="unknown role 'boss'; use one of: admin, director, planner"):
            users.create_user(s, acme, "ann", "boss", "test")
        assert users.parse_role("Team-Lead") is Role.team_lead
        users.create_user(s, acme, "ann", "team_lead", "test")
        with pytest.raises(CallopsError, match="already exists"):
            users.create_user(s, acme, "ann", "admin", "test")
        users.create_user(s, beta, "ann", "admin", "test")  # same name in another tenant is fine
        with pytest.raises(CallopsError, match="invalid user name"):
            users.create_user(s, acme, "a b", "admin", "test")
        with pytest.raises(NotFound, match="no tenant 'nope'"):
            users.create_user(s, "nope", "ann", "admin", "test")
        ann = users.get_user_by_name(s, acme, "ann")
        users.set_role(s, acme, ann.id, "planner", "boss")
        users.set_locale(s, acme, ann.id, "zh-CN", "ann")
        with pytest.raises(CallopsError, match="unknown locale"):
            users.set_locale(s, acme, ann.id, "fr", "ann")
    with store.session() as s:
        ann = users.get_user_by_name(s, acme, "ann")
        assert (ann.role, ann.locale) == ("planner", "zh-CN")
        actions = [(e.action, e.actor) for e in audit.list_audit(s, acme, object_type="user", object_id=ann.id)]
        assert actions == [("user.set_locale", "ann"), ("user.set_role", "boss"), ("user.create", "test")]
        change = audit.list_audit(s, acme, object_type="user", object_id=ann.id)[1]
        assert (change.before["role"], change.after["role"]) == ("team_lead", "planner")


def test_disabling_a_user_is_audited_with_before_and_after(store: Store, two_tenants: tuple[str, str]) -> None:
    """`user.disable` names the actor and the user and keeps the row before (enabled) and after (disabled)."""
    acme, _ = two_tenants
    with store.session() as s:
        u, _plain = users.create_user(s, acme, "dora", "analyst", "setup")
        uid = u.id
    with store.session() as s:
        users.disable_user(s, acme, uid, "boss")
    with store.session() as s:
        (entry,) = [e for e in audit.list_audit(s, acme, object_type="user", object_id=uid)
                    if e.action == "user.disable"]  # fmt: skip
        assert (entry.actor, entry.object_type, entry.object_id) == ("boss", "user", str(uid))
        assert entry.before is not None and entry.after is not None
        assert entry.before["disabled_at"] is None and entry.after["disabled_at"] is not None
        assert entry.before["name"] == entry.after["name"] == "dora"


def test_list_tokens_of_one_user_in_issue_order(store: Store, two_tenants: tuple[str, str]) -> None:
    """list_tokens(user_id=...) gives that user's tokens only, oldest first; without it, every token."""
    acme, _ = two_tenants
    with store.session() as s:
        a, _ = users.create_user(s, acme, "ann", "analyst", "setup")
        b, _ = users.create_user(s, acme, "bob", "analyst", "setup")
        for label in ("second", "third"):
            users.issue_token(s, acme, a.id, "setup", label=label)
        users.issue_token(s, acme, b.id, "setup", label="bob's")
        a_id, b_id = a.id, b.id
    with store.session() as s:
        mine = users.list_tokens(s, acme, user_id=a_id)
        assert [t.user_id for t in mine] == [a_id] * 3
        assert [t.label for t in mine] == ["created with the user", "second", "third"]
        assert [t.id for t in mine] == sorted(t.id for t in mine)
        assert {t.user_id for t in users.list_tokens(s, acme)} == {a_id, b_id}
        assert len(users.list_tokens(s, acme)) == 5
