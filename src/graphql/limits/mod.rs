//! What one GraphQL request may make the server do, checked before anything recursive or
//! costly touches it:
//!
//! - the document's text, before it is parsed: brackets (`{`, `[`, `(`) nested at most
//!   [`MAX_NESTING`] deep, and no U+0000. The parser recurses once per level, so a few
//!   thousand levels of `[[[...` would overflow a worker thread's stack and abort the process;
//! - variables: nested at most as deep, and no U+0000 in any string or key (PostgreSQL cannot
//!   store it, so both backends refuse it alike);
//! - the parsed document: no fragment cycles, root fields per operation, aliases, no U+0000 in
//!   literals, and a budget of work. Validation and execution expand every fragment spread
//!   where it is used, so a few fragments that spread each other k times ask for work
//!   exponential in k. Each fragment's cost is computed once (in dependency order, without
//!   recursion over spreads), so the checks here are linear in the document's size, and a
//!   document whose expansion is past the budget is refused before validation starts.
//!
//! Depth and complexity are then checked by async-graphql itself (see `schema_builder`).

use std::collections::HashMap;

use async_graphql::parser::types::{Directive, ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Positioned, ServerError};

use crate::config::LimitsConfig;

mod input;

pub use input::{MAX_NESTING, check_text, check_variables};
use input::{constant, literal, refuse};

#[derive(Clone, Copy)]
pub struct ShapeLimits {
    pub root_fields: usize,
    pub aliases: usize,
    /// Selections one operation may expand to, fragments spread where they are used.
    pub expanded: usize,
}

impl From<&LimitsConfig> for ShapeLimits {
    fn from(config: &LimitsConfig) -> Self {
        Self {
            root_fields: config.root_fields,
            aliases: config.aliases,
            // Every selected field costs at least 1 in complexity, so a document that expands
            // past twice the complexity limit could not run anyway (spreads and inline
            // fragments are counted too, hence the factor).
            expanded: config.complexity.saturating_mul(2),
        }
    }
}

/// What a selection set costs, its fragment spreads expanded.
#[derive(Clone, Copy, Default)]
struct Cost {
    /// Selections visited when every spread is replaced by its fragment, at every level.
    expanded: usize,
    /// Fields at this level, through spreads and inline fragments (root fields of an operation).
    fields: usize,
    /// Selections at this level, through spreads and inline fragments: what validation's
    /// field-merging rule walks for this selection set.
    flat: usize,
}

/// The walk over one document: fragment costs known so far, and totals.
struct Walk<'a> {
    fragments: HashMap<&'a str, Cost>,
    /// Work of the validation rules that look through spreads at every selection set.
    steps: usize,
    aliases: usize,
}

impl<'a> Walk<'a> {
    /// The cost of `set`, whose spreads name fragments already costed (or unknown ones,
    /// which validation reports). Recursion follows fields and inline fragments only, whose
    /// nesting [`check_text`] bounded.
    fn set(&mut self, set: &'a SelectionSet) -> Result<Cost, ServerError> {
        let mut cost = Cost::default();
        for item in &set.items {
            let item_cost = match &item.node {
                Selection::Field(field) => {
                    self.field(&field.node)?;
                    let inner = self.set(&field.node.selection_set.node)?;
                    Cost {
                        expanded: 1 + inner.expanded,
                        fields: 1,
                        flat: 1,
                    }
                }
                Selection::InlineFragment(f) => {
                    directives(&f.node.directives)?;
                    let inner = self.set(&f.node.selection_set.node)?;
                    Cost {
                        expanded: 1 + inner.expanded,
                        fields: inner.fields,
                        flat: 1 + inner.flat,
                    }
                }
                Selection::FragmentSpread(s) => {
                    directives(&s.node.directives)?;
                    let inner = self
                        .fragments
                        .get(s.node.fragment_name.node.as_str())
                        .copied()
                        .unwrap_or_default();
                    Cost {
                        expanded: 1 + inner.expanded,
                        fields: inner.fields,
                        flat: 1 + inner.flat,
                    }
                }
            };
            cost.expanded = cost.expanded.saturating_add(item_cost.expanded);
            cost.fields = cost.fields.saturating_add(item_cost.fields);
            cost.flat = cost.flat.saturating_add(item_cost.flat);
        }
        self.steps = self.steps.saturating_add(cost.flat);
        Ok(cost)
    }

    fn field(&mut self, field: &Field) -> Result<(), ServerError> {
        if field.alias.is_some() {
            self.aliases += 1;
        }
        for (_, value) in &field.arguments {
            literal(&value.node)?;
        }
        directives(&field.directives)
    }
}

fn directives(list: &[Positioned<Directive>]) -> Result<(), ServerError> {
    for directive in list {
        for (_, value) in &directive.node.arguments {
            literal(&value.node)?;
        }
    }
    Ok(())
}

/// The fragment names spread directly in `set`, at any level of it.
fn spreads<'a>(set: &'a SelectionSet, out: &mut Vec<&'a str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => spreads(&field.node.selection_set.node, out),
            Selection::InlineFragment(f) => spreads(&f.node.selection_set.node, out),
            Selection::FragmentSpread(s) => out.push(s.node.fragment_name.node.as_str()),
        }
    }
}

/// The document's fragments, each after every fragment it spreads; an error for a cycle.
/// Depth-first with an explicit stack: a chain of thousands of fragments recurses nowhere.
fn fragment_order(doc: &ExecutableDocument) -> Result<Vec<&str>, ServerError> {
    let deps: HashMap<&str, Vec<&str>> = doc
        .fragments
        .iter()
        .map(|(name, f)| {
            let mut out = Vec::new();
            spreads(&f.node.selection_set.node, &mut out);
            (name.as_str(), out)
        })
        .collect();
    #[derive(PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::with_capacity(deps.len());
    let mut order = Vec::with_capacity(deps.len());
    for (&start, _) in deps.iter() {
        if marks.contains_key(start) {
            continue;
        }
        marks.insert(start, Mark::Open);
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some((name, next)) = stack.last_mut() {
            let Some(dep) = deps.get(*name).and_then(|d| d.get(*next)).copied() else {
                marks.insert(*name, Mark::Done);
                order.push(*name);
                stack.pop();
                continue;
            };
            *next += 1;
            match marks.get(dep) {
                Some(Mark::Open) => {
                    return Err(refuse(format!(
                        "fragment \"{dep}\" spreads itself, directly or through others"
                    )));
                }
                Some(Mark::Done) => {}
                None if deps.contains_key(dep) => {
                    marks.insert(dep, Mark::Open);
                    stack.push((dep, 0));
                }
                None => {} // unknown: validation reports it
            }
        }
    }
    Ok(order)
}

impl ShapeLimits {
    /// Refuses a document past a limit: fragment cycles, expansion, root fields, aliases,
    /// NUL in literals. Linear in the document's size.
    pub fn check(&self, doc: &ExecutableDocument) -> Result<(), ServerError> {
        let mut walk = Walk {
            fragments: HashMap::with_capacity(doc.fragments.len()),
            steps: 0,
            aliases: 0,
        };
        for name in fragment_order(doc)? {
            let Some(fragment) = doc.fragments.get(name) else {
                continue;
            };
            directives(&fragment.node.directives)?;
            let cost = walk.set(&fragment.node.selection_set.node)?;
            walk.fragments.insert(name, cost);
        }
        for (_, operation) in doc.operations.iter() {
            let operation = &operation.node;
            for variable in &operation.variable_definitions {
                if let Some(default) = &variable.node.default_value {
                    constant(&default.node)?;
                }
            }
            directives(&operation.directives)?;
            let cost = walk.set(&operation.selection_set.node)?;
            if cost.fields > self.root_fields {
                return Err(refuse(format!(
                    "an operation may select at most {} root fields ({} asked)",
                    self.root_fields, cost.fields
                )));
            }
            if cost.expanded > self.expanded {
                return Err(refuse(format!(
                    "an operation may expand to at most {} selections, fragments spread \
                     where they are used ({} asked)",
                    self.expanded, cost.expanded
                )));
            }
        }
        if walk.aliases > self.aliases {
            return Err(refuse(format!(
                "a request may use at most {} aliases ({} asked)",
                self.aliases, walk.aliases
            )));
        }
        // Field merging looks through every spread at every selection set: bounded by the
        // same budget as expansion, across the whole document.
        if walk.steps > self.expanded.saturating_mul(4) {
            return Err(refuse(format!(
                "the document asks for too much validation work ({} steps, at most {})",
                walk.steps,
                self.expanded.saturating_mul(4)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fragment_costs_are_linear_and_cycles_refused() {
        let limits = ShapeLimits {
            root_fields: 20,
            aliases: 30,
            expanded: 10_000,
        };
        let cyclic = format!(
            "{{ ...A }} fragment A on Query {{ {} }}",
            "...A ".repeat(1000)
        );
        let doc = async_graphql::parser::parse_query(cyclic).unwrap();
        assert!(limits.check(&doc).is_err());
        // 40 fragments each spreading the next twice: 2^40 selections, refused at once.
        let mut text = "{ ...F0 }".to_owned();
        for i in 0..40 {
            text += &format!(" fragment F{i} on Query {{ ...F{} ...F{} }}", i + 1, i + 1);
        }
        text += " fragment F40 on Query { __typename }";
        let doc = async_graphql::parser::parse_query(text).unwrap();
        assert!(limits.check(&doc).is_err());
    }
}
