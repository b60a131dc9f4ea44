//! `schema.graphql` is what the code serves: regenerate it with `confab export-schema`.

#[test]
fn schema_file_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let served = confab::graphql::sdl();
    assert!(
        committed == served,
        "schema.graphql is stale: run `cargo run -- export-schema --out schema.graphql`"
    );
}
