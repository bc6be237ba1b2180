//! Consent at the SDK boundary: every biometric operation names the consent
//! record it relies on and the purpose it serves, and is refused, before any
//! picture is looked at, when that is missing.
//!
//! The SDK cannot check that a consent record exists (the tenant's system of
//! record does, and the sync service stores it); it checks that the caller
//! supplied one, and binds it to the sealed template, so that every stored
//! template points at the consent it was taken under.

use thiserror::Error;

use crate::seal::MAX_CONSENT_REF_LEN;
pub use crate::seal::Purpose;

/// Why an operation was refused for want of a usable consent reference.
///
/// Messages never repeat the reference: it links to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConsentError {
    /// No consent reference, or one that is empty or only white space.
    #[error("no consent reference given: biometric processing refused")]
    Missing,
    /// Longer than the envelope can carry.
    #[error("consent reference longer than {max} bytes")]
    TooLong { max: usize },
    /// Holds a control character (it is an identifier, not free text).
    #[error("consent reference holds a control character")]
    ControlCharacter,
    /// The consent covers another purpose than the operation's.
    #[error("consent given for {granted:?} does not cover {requested:?}")]
    WrongPurpose {
        granted: Purpose,
        requested: Purpose,
    },
}

/// A reference to the consent record an operation relies on: 1 to
/// [`MAX_CONSENT_REF_LEN`] bytes of UTF-8, not blank, no control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsentReference(String);

impl ConsentReference {
    pub fn new(reference: &str) -> Result<Self, ConsentError> {
        if reference.trim().is_empty() {
            return Err(ConsentError::Missing);
        }
        if reference.len() > MAX_CONSENT_REF_LEN {
            return Err(ConsentError::TooLong {
                max: MAX_CONSENT_REF_LEN,
            });
        }
        if reference.chars().any(char::is_control) {
            return Err(ConsentError::ControlCharacter);
        }
        Ok(ConsentReference(reference.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Links to a person's record: `Debug` shows the length only.
impl std::fmt::Debug for ConsentReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConsentReference({} bytes)", self.0.len())
    }
}

/// A consent reference and the purpose it was given for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    reference: ConsentReference,
    purpose: Purpose,
}

impl Consent {
    /// Checks a reference supplied by the caller; `None` is a missing consent.
    pub fn new(reference: Option<&str>, purpose: Purpose) -> Result<Self, ConsentError> {
        let reference = ConsentReference::new(reference.ok_or(ConsentError::Missing)?)?;
        Ok(Consent { reference, purpose })
    }

    pub fn reference(&self) -> &ConsentReference {
        &self.reference
    }

    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Refuses an operation of another purpose than the consent's.
    pub fn require(&self, requested: Purpose) -> Result<(), ConsentError> {
        if self.purpose == requested {
            Ok(())
        } else {
            Err(ConsentError::WrongPurpose {
                granted: self.purpose,
                requested,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_blank_long_and_control_references_are_refused() {
        assert_eq!(
            Consent::new(None, Purpose::Enrol),
            Err(ConsentError::Missing)
        );
        for blank in ["", " ", "\t\n"] {
            assert_eq!(ConsentReference::new(blank), Err(ConsentError::Missing));
        }
        assert_eq!(
            ConsentReference::new(&"c".repeat(MAX_CONSENT_REF_LEN + 1)),
            Err(ConsentError::TooLong {
                max: MAX_CONSENT_REF_LEN
            })
        );
        assert!(ConsentReference::new(&"c".repeat(MAX_CONSENT_REF_LEN)).is_ok());
        assert_eq!(
            ConsentReference::new("consent\u{0}42"),
            Err(ConsentError::ControlCharacter)
        );
    }

    #[test]
    fn purpose_must_match_and_nothing_leaks() {
        let consent = Consent::new(Some("consent-alice-42"), Purpose::Verify).unwrap();
        assert_eq!(consent.reference().as_str(), "consent-alice-42");
        assert!(consent.require(Purpose::Verify).is_ok());
        let err = consent.require(Purpose::Enrol).unwrap_err();
        assert!(matches!(err, ConsentError::WrongPurpose { .. }));
        assert!(!format!("{consent:?}").contains("alice"));
        assert!(!err.to_string().contains("alice"));
    }
}
