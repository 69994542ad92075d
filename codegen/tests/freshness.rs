//! `cargo test` fails when a checked-in crate under `generated-client/` is not what the
//! generator writes now, as `cargo xtask check` does: a change to the generator, a spec or an
//! override must come with the regenerated crates.

use std::path::Path;

use codegen::project::Project;

#[test]
fn generated_crates_are_what_the_generator_writes() {
    let project = Project::find(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (crates, _) = project.generate_all(None, env!("CARGO_PKG_VERSION")).unwrap();
    assert!(crates.len() >= 30, "only {} crates generated", crates.len());
    let stale = project.stale_files(&crates).unwrap();
    assert!(
        stale.is_empty(),
        "generated code is stale; run `cargo xtask generate`:\n  {}",
        stale.join("\n  ")
    );
}
