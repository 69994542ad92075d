//! Checks that need no server: what daemons send decodes into the generated models, the models' examples are complete,
//! every override names daemon tests that exist, and a daemon test's replay fails when it differs from its recording.

mod examples;
mod models;
mod overrides;
mod replays;
