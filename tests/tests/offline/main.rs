//! Checks that need no server: what daemons send decodes into the generated models, the models' examples are complete,
//! and every override names daemon tests that exist.

mod examples;
mod models;
mod overrides;
