//! Reactions on a message, grouped by emoji.

use async_graphql::parser::types::{Field, SelectionSet};
use async_graphql::{ContextSelectionSet, Object, Value};

use super::User;
use crate::graphql::fastpath::{self, FastPath};

/// Everyone who reacted to a message with one emoji.
pub struct ReactionGroup {
    pub(super) emoji: String,
    pub(super) users: Vec<User>,
    pub(super) reacted_by_me: bool,
}

/// Everyone who reacted to a message with one emoji.
// Serial, for the reason given on `User`; its fields are all ready at once.
#[Object(serial)]
impl ReactionGroup {
    /// The emoji.
    async fn emoji(&self) -> &str {
        &self.emoji
    }

    /// How many users reacted with it.
    async fn count(&self) -> i32 {
        self.users.len() as i32
    }

    /// Who reacted, earliest first.
    async fn users(&self) -> Vec<User> {
        self.users.clone()
    }

    /// Whether the caller is among them.
    async fn reacted_by_me(&self) -> bool {
        self.reacted_by_me
    }
}

impl FastPath for ReactionGroup {
    type Loaded = ();

    fn writes(ctx: &ContextSelectionSet<'_>, field: &Field) -> bool {
        match field.name.node.as_str() {
            "emoji" | "count" | "reactedByMe" => true,
            "users" => fastpath::writable::<User>(ctx, &field.selection_set.node),
            _ => false,
        }
    }

    async fn load(&self, _: &ContextSelectionSet<'_>, _: &SelectionSet) -> Option<()> {
        Some(())
    }

    fn field(&self, ctx: &ContextSelectionSet<'_>, (): &(), field: &Field) -> Option<Value> {
        Some(match field.name.node.as_str() {
            "emoji" => Value::String(self.emoji.clone()),
            "count" => Value::from(self.users.len() as i32),
            "users" => fastpath::list(ctx, field, &self.users, &())?,
            "reactedByMe" => Value::Boolean(self.reacted_by_me),
            _ => return None,
        })
    }
}
