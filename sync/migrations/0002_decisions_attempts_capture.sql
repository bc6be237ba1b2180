-- faceseal-sync schema 2: attempt limits per subject, challenges that outlive their use (capture tokens and
-- the decision the tenant's backend reads), and the key-encryption key's check value.

-- Failed verifications a subject may have in a window before it is locked out, and for how long.
ALTER TABLE tenants ADD COLUMN attempt_limit BIGINT NOT NULL DEFAULT 5;
ALTER TABLE tenants ADD COLUMN attempt_window BIGINT NOT NULL DEFAULT 900;
ALTER TABLE tenants ADD COLUMN lockout BIGINT NOT NULL DEFAULT 900;

-- Shared by every instance over the database, updated by single-row upserts.
CREATE TABLE subject_attempts (
    tenant_id    TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    -- attempts charged in the current window (a verification is charged before it is compared)
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);

-- A challenge is no longer deleted when used: it is marked used and keeps its decision, which the
-- tenant's backend reads with its API key. Challenges of schema 1 lived two minutes: none is worth keeping.
DROP TABLE challenges;
CREATE TABLE challenges (
    tenant_id        TEXT NOT NULL,
    challenge_id     TEXT NOT NULL,
    nonce            BYTEA NOT NULL,
    purpose          TEXT NOT NULL,
    -- 1: an enrolment under this challenge replaces the subject's template
    replace_template BIGINT NOT NULL,
    -- empty: any subject of the tenant (API-key callers only)
    subject_id       TEXT NOT NULL,
    -- SHA-256 of the capture token's secret; empty when none was issued
    token_hash       BYTEA NOT NULL,
    issued_at        BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used_at          BIGINT,
    -- empty until decided: enrolled, replaced, match, no-match, refused:<code>
    outcome          TEXT NOT NULL,
    decided_at       BIGINT,
    PRIMARY KEY (tenant_id, nonce)
);
CREATE UNIQUE INDEX challenges_id ON challenges (challenge_id);
CREATE INDEX challenges_expiry ON challenges (expires_at);

-- One row per deployment-wide fact; `kek_check` is an AEAD of a fixed label under the KEK.
CREATE TABLE deployment (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
