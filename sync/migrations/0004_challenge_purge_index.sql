-- faceseal-sync schema 4: the purge that runs with every new challenge deletes a tenant's challenges past their
-- retention. Under the primary key (tenant_id, nonce) it visited every retained challenge of the tenant (an hour
-- of them), so each new challenge cost more than the last. Indexed by tenant and expiry it visits only the rows
-- it deletes.
DROP INDEX challenges_expiry;
CREATE INDEX challenges_purge ON challenges (tenant_id, expires_at);
