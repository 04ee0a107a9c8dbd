//! Who is calling: roles, principals, the token key and JWTs.

pub mod issuers;
pub mod keyring;
pub mod keys;
pub mod label_secrets;
pub mod token;

pub use keyring::{Keyring, Purpose};
pub use keys::KeyPair;
pub use token::{Principal, Role, TokenError, TokenService};
