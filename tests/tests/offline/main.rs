//! Checks that need no server: what daemons send decodes into the generated models, and every
//! override names daemon tests that exist.

mod models;
mod overrides;
