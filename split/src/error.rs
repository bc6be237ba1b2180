use thiserror::Error;

/// Everything that can go wrong in the split scheme.
#[derive(Debug, Error)]
pub enum SplitError {
    #[error("homomorphic encryption: {0}")]
    Fhe(#[from] fhe::Error),
    #[error("ring arithmetic: {0}")]
    Math(#[from] fhe_math::Error),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("the embedding must have {expected} finite values, got {actual}")]
    Embedding { expected: usize, actual: usize },
    #[error("the two public key contributions do not share the common reference polynomial")]
    CrpMismatch,
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("the request is not authorised")]
    Unauthorised,
    #[error("request id already used")]
    Replayed,
    #[error("attempt budget spent for this subject")]
    Locked,
    #[error("the decision's authenticator does not verify")]
    BadSignature,
    #[error("the decision answers another request")]
    WrongRequest,
    #[error("key store: {0}")]
    Io(#[from] std::io::Error),
}
