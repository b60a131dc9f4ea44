//! Shape limits checked right after parsing, before anything runs: root fields per operation
//! and aliases per document (aliases multiply the work one request can ask for). Depth and
//! complexity are checked by async-graphql itself (see `schema_builder`).

use async_graphql::ServerError;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::config::LimitsConfig;

#[derive(Clone, Copy)]
pub struct ShapeLimits {
    pub root_fields: usize,
    pub aliases: usize,
}

impl From<&LimitsConfig> for ShapeLimits {
    fn from(config: &LimitsConfig) -> Self {
        Self {
            root_fields: config.root_fields,
            aliases: config.aliases,
        }
    }
}

fn refuse(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", "BAD_USER_INPUT");
    error
}

/// Fields directly in `set`, looking through inline fragments and fragment spreads.
fn root_fields(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 8 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(f) => root_fields(doc, &f.node.selection_set.node, depth + 1),
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .map_or(0, |f| {
                    root_fields(doc, &f.node.selection_set.node, depth + 1)
                }),
        })
        .sum()
}

/// Aliased fields anywhere in `set` (fragments are counted where they are defined).
fn aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

impl ShapeLimits {
    /// Refuses a document with too many root fields in an operation or too many aliases.
    pub fn check(&self, doc: &ExecutableDocument) -> Result<(), ServerError> {
        for (_, operation) in doc.operations.iter() {
            let n = root_fields(doc, &operation.node.selection_set.node, 0);
            if n > self.root_fields {
                return Err(refuse(format!(
                    "an operation may select at most {} root fields ({n} asked)",
                    self.root_fields
                )));
            }
        }
        let total = doc
            .operations
            .iter()
            .map(|(_, op)| aliases(&op.node.selection_set.node))
            .sum::<usize>()
            + doc
                .fragments
                .values()
                .map(|f| aliases(&f.node.selection_set.node))
                .sum::<usize>();
        if total > self.aliases {
            return Err(refuse(format!(
                "a request may use at most {} aliases ({total} asked)",
                self.aliases
            )));
        }
        Ok(())
    }
}
