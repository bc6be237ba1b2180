-- faceseal-sync schema 1, in PostgreSQL's dialect; SQLite runs it with BYTEA read as BLOB
-- (DOUBLE PRECISION already has REAL affinity there).
CREATE TABLE tenants (
    tenant_id            TEXT PRIMARY KEY,
    created_at           BIGINT NOT NULL,
    liveness_threshold   DOUBLE PRECISION NOT NULL,
    quality_threshold    DOUBLE PRECISION NOT NULL,
    match_threshold      DOUBLE PRECISION NOT NULL,
    template_m           BIGINT NOT NULL,
    template_q           BIGINT NOT NULL,
    template_key_version BIGINT NOT NULL,
    current_seal_key     TEXT NOT NULL,
    -- chain state: number of entries, mac of the last one, and an HMAC of both
    audit_seq            BIGINT NOT NULL,
    audit_last_mac       BYTEA NOT NULL,
    audit_head           BYTEA NOT NULL
);
-- Every tenant secret, wrapped by the key-encryption key. Deleted first when
-- the tenant is deleted (crypto-shredding).
CREATE TABLE tenant_keys (
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    public_key BYTEA,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    PRIMARY KEY (tenant_id, kind, key_id)
);
CREATE TABLE api_keys (
    handle      TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
CREATE TABLE subjects (
    tenant_id  TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);
CREATE TABLE consents (
    tenant_id    TEXT NOT NULL,
    consent_ref  TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    text_version TEXT NOT NULL,
    granted_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    PRIMARY KEY (tenant_id, consent_ref)
);
CREATE INDEX consents_subject ON consents (tenant_id, subject_id);
CREATE TABLE challenges (
    tenant_id  TEXT NOT NULL,
    nonce      BYTEA NOT NULL,
    purpose    TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, nonce)
);
CREATE INDEX challenges_expiry ON challenges (expires_at);
CREATE TABLE templates (
    tenant_id    TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    template_id  TEXT NOT NULL,
    key_version  BIGINT NOT NULL,
    nonce        BYTEA NOT NULL,
    ciphertext   BYTEA NOT NULL,
    consent_ref  TEXT NOT NULL,
    -- digest of the frames the template came from (docs/envelope.md)
    capture_digest BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);
CREATE TABLE audit_entries (
    tenant_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    operation   TEXT NOT NULL,
    subject_ref TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    mac         BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
