//! Refusing introspection (`--introspection=false`): an operation that asks for `__schema` or
//! `__type` gets an error saying introspection is off, before anything runs.
//!
//! async-graphql's own switch (`disable_introspection`, also set) only answers such fields with
//! `null`, which tells a client nothing about why; this check names the reason. It visits each
//! selection set of the document once (fragments through their definitions, not their spreads)
//! with a stack of its own, so its work is linear in the document and no nesting can overflow
//! a thread's stack.

use async_graphql::ServerError;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The fields only introspection answers (`__typename` is part of every query, not these).
const FIELDS: [&str; 2] = ["__schema", "__type"];

/// Err when the document selects an introspection field anywhere.
pub fn refuse(doc: &ExecutableDocument) -> Result<(), ServerError> {
    let mut pending: Vec<&SelectionSet> = doc
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node)
        .chain(
            doc.fragments
                .values()
                .map(|fragment| &fragment.node.selection_set.node),
        )
        .collect();
    while let Some(set) = pending.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if FIELDS.contains(&name) {
                        return Err(ServerError::new(
                            format!(
                                "introspection is turned off on this server: `{name}` is not answered"
                            ),
                            Some(field.pos),
                        ));
                    }
                    pending.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    pending.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    Ok(())
}
