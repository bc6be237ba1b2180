-- faceseal-sync schema 3: the liveness level a tenant requires. Envelopes bind the level the device applied;
-- one bound to a lower level is refused before anything is stored or compared.
ALTER TABLE tenants ADD COLUMN liveness_level TEXT NOT NULL DEFAULT 'standard';
