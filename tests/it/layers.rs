//! The source's layering, read from its imports (docs/architecture.md, "Layout"):
//! `http -> graphql -> service -> store/db -> realtime`, no import circle between modules of
//! `service/`, `state.rs`, `auth.rs` and the layers below, and no layer reaching up.
//!
//! A module here is a file or folder directly under `src/` (`store`, `state`), or one under
//! `src/service/` (`service::room`). Its imports are every `crate::` path in its files
//! (`use` lists included) and, inside `service/`, every `super::` path that names a sibling.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to: `service::<name>` under `src/service/`, else the first part
/// of its path under `src/` without `.rs`.
fn module_of(file: &Path) -> String {
    let parts: Vec<String> = file
        .strip_prefix(src())
        .expect("under src/")
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    match parts.as_slice() {
        [service, rest @ ..] if service == "service" && !rest.is_empty() && rest[0] != "mod" => {
            format!("service::{}", rest[0])
        }
        [first, ..] => first.clone(),
        [] => unreachable!("a file has a name"),
    }
}

/// The paths a use tree starting at `text` names, each with `prefix` in front: `a::b`,
/// `a::{b, c::{self, d}}` ... `text` runs on past the tree; it ends at the first character
/// that cannot be part of it.
fn use_tree(prefix: &str, text: &str, out: &mut Vec<String>) {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    let path = format!("{prefix}{}", &text[..end]);
    if !text[end..].starts_with('{') {
        out.push(path.trim_end_matches("::").to_owned());
        return;
    }
    // The group: split at top-level commas up to the matching brace.
    let group = &text[end + 1..];
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                item(&path, &group[start..i], out);
                return;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                item(&path, &group[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    fn item(path: &str, item: &str, out: &mut Vec<String>) {
        match item.trim() {
            "" => {}
            "self" => out.push(path.trim_end_matches("::").to_owned()),
            item => use_tree(path, item, out),
        }
    }
}

/// The modules `text` (of a file in `module`) names; `in_service` when the file is directly in
/// `src/service/`, where `super::x` names the sibling `service::x`.
fn imports(module: &str, text: &str, in_service: bool) -> BTreeSet<String> {
    // Lines of code only: a doc comment may name any module.
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        use_tree("", &code[at + "crate::".len()..], &mut paths);
    }
    if in_service {
        for (at, _) in code.match_indices("super::") {
            use_tree("service::", &code[at + "super::".len()..], &mut paths);
        }
    }
    let mut found = BTreeSet::new();
    for path in paths {
        let mut segments = path.split("::");
        let first = segments.next().unwrap_or_default();
        let target = match (first, segments.next()) {
            ("service", Some(second)) if second.starts_with(|c: char| c.is_ascii_lowercase()) => {
                format!("service::{second}")
            }
            _ => first.to_owned(),
        };
        if !target.is_empty() {
            found.insert(target);
        }
    }
    found.remove(module);
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&file);
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        let in_service = file.parent() == Some(src().join("service").as_path());
        let mut deps = imports(&module, &text, in_service);
        deps.retain(|d| d != "lib" && d != "main");
        graph.entry(module).or_default().extend(deps);
    }
    graph
}

/// Every cycle's modules, found by depth-first search.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == node) {
            found.push(path[at..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, found);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn the_reader_sees_the_modules_it_expects() {
    let graph = graph();
    for module in [
        "service::room",
        "service::membership",
        "store",
        "workers",
        "db",
        "state",
    ] {
        assert!(graph.contains_key(module), "{module} missing: {graph:#?}");
    }
    // The reader itself: nested groups, `self`, and a sibling named through `super`.
    let read = imports(
        "service::room",
        "use crate::service::{membership::{self, Role}, notification};\nuse crate::{db, store};\n\
         use super::user::by_id;",
        true,
    );
    let expected: BTreeSet<String> = [
        "service::membership",
        "service::notification",
        "service::user",
        "db",
        "store",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(read, expected);
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let graph = graph();
    // The graph as a whole, minus the composition roots that tie the layers together:
    // `http` and `graphql` sit on top, `seed` writes sample data through everything.
    let mut layered = graph.clone();
    for top in ["http", "graphql", "seed"] {
        layered.remove(top);
    }
    let found = cycles(&layered);
    assert!(found.is_empty(), "import cycles: {found:#?}");
}

#[test]
fn no_layer_reaches_up() {
    let graph = graph();
    let above = |module: &str| -> &[&str] {
        match module {
            m if m.starts_with("service") => &["graphql", "http"],
            "store" | "workers" => &["service", "graphql", "http", "state"],
            "db" => &[
                "service", "store", "workers", "graphql", "http", "state", "auth",
            ],
            "realtime" => &["service", "store", "workers", "graphql", "http", "state"],
            "auth" => &["service", "graphql", "http", "state"],
            "config" | "error" => &[
                "service", "store", "workers", "db", "graphql", "http", "state", "auth",
            ],
            _ => &[],
        }
    };
    let mut wrong = Vec::new();
    for (module, deps) in &graph {
        for dep in deps {
            let dep_layer = dep.split("::").next().unwrap_or(dep);
            if above(module).contains(&dep_layer) {
                wrong.push(format!("{module} imports {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering: {wrong:#?}");
}
