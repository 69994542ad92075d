fn main() {
    // A recording added or removed changes which daemon tests a build without a daemon ignores.
    println!("cargo:rerun-if-changed=replays");
}
