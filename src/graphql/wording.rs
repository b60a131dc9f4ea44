//! What async-graphql's own errors say, rewritten for the client reading them:
//! - a syntax error is one line with its line and column, not the parser's drawing of the
//!   document (`syntax error at line 1, column 11: expected selection_set, ...`);
//! - a malformed UUID argument names the argument (and the input field inside it) that holds
//!   it, in the message and as `extensions.field` (its name) and `extensions.argumentPath`
//!   (`input.memberIds[1]`), where async-graphql says only `Failed to parse "UUID"`.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Pos, Positioned, ServerError, Variables};
use async_graphql_value::{ConstValue, Value};

/// The document text and variables of an operation, kept for rewording its errors.
pub struct Source {
    pub query: String,
    pub variables: Variables,
}

/// Rewords `error` if it is one of async-graphql's described above; `source` is the
/// operation's (None when its text is unknown, as for a persisted query sent by hash).
pub fn reword(error: &mut ServerError, source: Option<&Source>) {
    if error.path.is_empty() && error.message.starts_with(" --> ") {
        if let Some(line) = syntax(&error.message) {
            error.message = line;
        }
    } else if let Some(detail) = error.message.strip_prefix("Failed to parse \"UUID\": ")
        && let Some(source) = source
        && let Some(at) = error.locations.first()
        && let Some(path) = uuid_argument(source, *at)
    {
        let detail = detail
            .split(" (occurred while parsing")
            .next()
            .unwrap_or_default()
            .to_owned();
        error.message = format!("{}: not a UUID ({detail})", path.text);
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("field", path.name);
        ext.set("argumentPath", path.text);
    }
}

/// The parser's message (` --> 1:11`, the document drawn, `= expected ...`) as one line.
fn syntax(message: &str) -> Option<String> {
    let position = message.strip_prefix(" --> ")?.lines().next()?.trim();
    let (line, column) = position.split_once(':')?;
    let expected = message
        .lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("= "))
        .unwrap_or("unexpected input");
    Some(format!(
        "syntax error at line {line}, column {column}: {expected}"
    ))
}

struct ArgumentPath {
    /// The last name on the path: the argument's, or the input field's.
    name: String,
    /// `id`, `input.memberIds[1]`.
    text: String,
}

/// The argument whose value starts at `at`, and inside it the first string that is not a UUID
/// under a name that holds ids (`id`, `ids`, `...Id`, `...Ids`; not blob ids, which are
/// hashes).
fn uuid_argument(source: &Source, at: Pos) -> Option<ArgumentPath> {
    let doc = async_graphql::parser::parse_query(&source.query).ok()?;
    let (name, value) = argument_at(&doc, at)?;
    let value = value
        .into_const_with(|var: Name| source.variables.get(&var).cloned().ok_or(()))
        .ok()?;
    let mut path = ArgumentPath {
        name: name.to_string(),
        text: name.to_string(),
    };
    if let Some((field, suffix)) = bad_uuid(&value, &name) {
        path.name = field;
        path.text.push_str(&suffix);
    }
    Some(path)
}

/// Where in `value` (named `name`) the first malformed id is: its name and the path suffix.
fn bad_uuid(value: &ConstValue, name: &str) -> Option<(String, String)> {
    match value {
        ConstValue::String(text) if holds_ids(name) && uuid::Uuid::parse_str(text).is_err() => {
            Some((name.to_owned(), String::new()))
        }
        ConstValue::List(items) => items.iter().enumerate().find_map(|(i, item)| {
            bad_uuid(item, name).map(|(field, suffix)| (field, format!("[{i}]{suffix}")))
        }),
        ConstValue::Object(fields) => fields.iter().find_map(|(key, item)| {
            bad_uuid(item, key).map(|(field, suffix)| (field, format!(".{key}{suffix}")))
        }),
        _ => None,
    }
}

fn holds_ids(name: &str) -> bool {
    (name == "id" || name == "ids" || name.ends_with("Id") || name.ends_with("Ids"))
        && !name.contains("Blob")
}

/// The argument of any field in `doc` whose value is at `at`.
fn argument_at(doc: &ExecutableDocument, at: Pos) -> Option<(Name, Value)> {
    let operations = doc.operations.iter().map(|(_, op)| &op.node.selection_set);
    let fragments = doc.fragments.values().map(|f| &f.node.selection_set);
    operations
        .chain(fragments)
        .find_map(|set| in_selection(set, at))
}

fn in_selection(set: &Positioned<SelectionSet>, at: Pos) -> Option<(Name, Value)> {
    set.node.items.iter().find_map(|item| match &item.node {
        Selection::Field(field) => field
            .node
            .arguments
            .iter()
            .find(|(_, value)| value.pos == at)
            .map(|(name, value)| (name.node.clone(), value.node.clone()))
            .or_else(|| in_selection(&field.node.selection_set, at)),
        Selection::InlineFragment(fragment) => in_selection(&fragment.node.selection_set, at),
        Selection::FragmentSpread(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::syntax;

    #[test]
    fn syntax_errors_are_one_line() {
        let drawn = " --> 1:11\n  |\n1 | { me { id \n  |           ^---\n  |\n  = expected selection_set, selection, directive, or arguments";
        assert_eq!(
            syntax(drawn).as_deref(),
            Some(
                "syntax error at line 1, column 11: expected selection_set, selection, directive, or arguments"
            )
        );
    }
}
