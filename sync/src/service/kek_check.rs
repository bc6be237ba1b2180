//! Ties the key-encryption key to its database: the first start stores a
//! check value (an AEAD of a fixed label under the KEK); every later start
//! opens it, and a service given another KEK refuses to serve instead of
//! answering 500s and wrapping new tenants under a key that opens nothing
//! of the old ones.

use super::Service;
use crate::db::{Database, Stmt, Value};
use crate::error::ApiError;
use crate::keystore::{KeyStoreError, WrapLabel};

const CHECK_LABEL: WrapLabel<'static> = WrapLabel {
    tenant_id: "",
    kind: "kek-check",
    key_id: "v1",
};
const CHECK_PLAINTEXT: &[u8] = b"faceseal-sync: this database's key-encryption key";

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KekCheck {
    /// The database had no check value: this KEK is now the database's.
    Bound,
    /// The KEK is the database's.
    Matches,
}

/// Whether the database holds a KEK check value or wrapped keys, i.e. a KEK
/// already belongs to it.
pub async fn database_has_keys(db: &dyn Database) -> Result<bool, ApiError> {
    let rows = db
        .query(
            "SELECT (SELECT COUNT(*) FROM deployment) + (SELECT COUNT(*) FROM tenant_keys)",
            vec![],
        )
        .await?;
    Ok(rows.first().map_or(Ok(0), |r| r[0].int())? > 0)
}

impl Service {
    /// Checks (or, on a database that has none, records) that the KEK is
    /// this database's. `KeyStoreError::WrongKek` when it is not.
    pub async fn check_kek(&self) -> Result<KekCheck, ApiError> {
        if let Some(stored) = self.stored_check().await? {
            return self.compare_check(&stored).map(|()| KekCheck::Matches);
        }
        // A database from before check values: any wrapped key must open.
        let rows = self
            .db
            .query(
                "SELECT tenant_id, kind, key_id, wrapped FROM tenant_keys
                 WHERE retired_at IS NULL LIMIT 1",
                vec![],
            )
            .await?;
        if let Some(r) = rows.first() {
            let (tenant_id, kind, key_id) = (r[0].text()?, r[1].text()?, r[2].text()?);
            let label = WrapLabel {
                tenant_id: &tenant_id,
                kind: &kind,
                key_id: &key_id,
            };
            if self.keys.unwrap(&label, &r[3].blob()?).is_err() {
                return Err(KeyStoreError::WrongKek.into());
            }
        }
        let check = self.keys.wrap(&CHECK_LABEL, CHECK_PLAINTEXT)?;
        self.db
            .batch(vec![Stmt::new(
                "INSERT INTO deployment (name, value) VALUES ('kek_check', $1)
                 ON CONFLICT (name) DO NOTHING",
                vec![Value::Blob(check)],
            )])
            .await?;
        // Another instance may have bound its KEK first: compare with what won.
        let stored = self.stored_check().await?.ok_or(ApiError::Integrity)?;
        self.compare_check(&stored).map(|()| KekCheck::Bound)
    }

    async fn stored_check(&self) -> Result<Option<Vec<u8>>, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT value FROM deployment WHERE name = 'kek_check'",
                vec![],
            )
            .await?;
        rows.first()
            .map(|r| r[0].blob())
            .transpose()
            .map_err(Into::into)
    }

    fn compare_check(&self, stored: &[u8]) -> Result<(), ApiError> {
        match self.keys.unwrap(&CHECK_LABEL, stored) {
            Ok(plain) if plain.as_slice() == CHECK_PLAINTEXT => Ok(()),
            _ => Err(KeyStoreError::WrongKek.into()),
        }
    }
}
