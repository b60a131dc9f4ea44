//! Rebuilds confab when the example client's build output changes: `src/http/demo.rs` embeds
//! `examples/web/dist` (rust-embed), whose generated code notices changed files but not added
//! or removed ones. A directory here makes cargo watch everything under it.

fn main() {
    println!("cargo:rerun-if-changed=examples/web/dist");
}
