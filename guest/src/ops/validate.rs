//! Input checks shared by the operations; each names what was wrong and what is expected.

use crate::Error;

/// A Synnefo server id: digits only.
pub fn server_id(id: &str) -> Result<&str, Error> {
    let id = id.trim();
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(Error::Invalid(format!(
            "'{id}' is not an ~Okeanos VM id: server ids are numbers (e.g. 123456)"
        )))
    }
}

/// The trimmed id, which must not be empty (`what` names it in the error).
pub(super) fn non_empty<'a>(what: &str, id: &'a str) -> Result<&'a str, Error> {
    let id = id.trim();
    if id.is_empty() {
        Err(Error::Invalid(format!("the {what} is empty")))
    } else {
        Ok(id)
    }
}

/// `8-4-4-4-12` hexadecimal, the shape of Synnefo image (and snapshot) ids.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}
