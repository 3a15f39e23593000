//! The migrations are embedded (`embed_migrations!`): rebuild when one is added or changed, which
//! cargo would not notice on its own for a new directory.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite/console");
    println!("cargo:rerun-if-changed=../../migrations/postgres/console");
}
