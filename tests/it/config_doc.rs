//! docs/configuration.md says what `confab --help` says: every setting, its environment
//! variable and its default, read from the clap definitions (where each default is written
//! once), as `schema.graphql` is compared with the code.

use std::collections::BTreeMap;

use clap::CommandFactory;
use confab::config::Cli;

/// One row of the settings table: (environment, default) by flag.
fn documented() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/configuration.md"
    ))
    .expect("docs/configuration.md");
    text.lines()
        .filter(|line| line.starts_with("| `--"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let flag = cells[1].trim_matches('`').to_owned();
            (
                flag,
                (cells[2].trim_matches('`').to_owned(), cells[3].to_owned()),
            )
        })
        .collect()
}

#[test]
fn the_configuration_doc_matches_the_flags() {
    let documented = documented();
    let command = Cli::command();
    let mut flags = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let flag = format!("--{long}");
        flags.push(flag.clone());
        let Some((env, default)) = documented.get(&flag) else {
            panic!("{flag} is not in docs/configuration.md");
        };
        let expected_env = arg
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert_eq!(env, &expected_env, "{flag}: environment variable");
        let mut defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if defaults.is_empty() && !arg.get_action().takes_values() {
            defaults.push("false".to_owned()); // a switch: off unless given
        }
        if defaults.is_empty() {
            assert!(
                !default.starts_with('`'),
                "{flag} has no default, the doc says {default}"
            );
        } else {
            assert_eq!(
                default,
                &format!("`{}`", defaults.join(",")),
                "{flag}: default"
            );
        }
    }
    for flag in documented.keys() {
        assert!(
            flags.contains(flag),
            "docs/configuration.md lists {flag}, which confab does not have"
        );
    }
}
